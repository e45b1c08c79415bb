"""The cluster side of raymlx: the resource policy and the ``ResourceManager`` actor with its
live per-node report (``manager.py``, ``policy.py``, ``inventory.py``), the per-trial memory
guard and device choice, owner-only Ray token files, and the deploy templates printed by
``raymlx cluster template``."""
