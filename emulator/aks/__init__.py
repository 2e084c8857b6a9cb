"""The emulated AKS clusters: each one's OIDC issuer (discovery document and JWKS) and the kubelet-like
projector that writes a pod's service-account token file and rotates it."""
