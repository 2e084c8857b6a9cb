"""The local chain behind ``python -m certless_ops demo`` and the e2e tests.

plan JSON ─► identity emulator ─► an app configured as its compute ─► certless ─► Azure SDK ─► Azurite.
"""
