"""The local chain behind ``./dev demo`` and the e2e tests.

plan JSON ─► identity emulator ─► an app configured as its compute ─► certless ─► Azure SDK ─► Azurite.
"""
