"""certless_ops: offline tooling for the certless Pulumi program (plan, review, duplicate, demo)."""
