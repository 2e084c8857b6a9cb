"""The Pulumi program's steps behind ``__main__.py``: the validated stack config turned into component Args.

Part of the program's room (README, "Layout"): it may read the stack config through ``stackconfig``
and declares components; the resource logic itself lives in ``components/``.
"""
