# Forward to the repository's lit.cfg.py, so `lit test/lit/...` finds the dynamlir suite.
import os

lit_config.load_config(config, os.path.join(os.path.dirname(__file__), "..", "..", "lit.cfg.py"))
