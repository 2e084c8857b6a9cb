"""`certless-ops emulate`: the emulator (and Azurite) in the background for an app on a developer's laptop.

The command plans the stack, starts ``daemon`` as a process of its own session, waits for its state file
and prints one shell line (``shell``) that makes the current shell look like the workload's compute.
``state`` finds, checks and stops a running one from any folder.
"""
