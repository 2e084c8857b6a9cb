"""Blue-green release tooling: duplicate a stack into a new colour and check two colours' plans.

The shared identity layer (user-assigned identity, app registration, the app's FIC) outlives the
compute: it is created once by its owner stack and referenced by every colour stack.
"""
