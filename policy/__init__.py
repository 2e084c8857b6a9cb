"""The certless CrossGuard policy pack (run by ``pulumi preview --policy-pack policy/``)."""
