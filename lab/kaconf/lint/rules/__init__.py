"""One lint rule per module; :mod:`lab.kaconf.lint` imports every module here (pkgutil), so a new
file registering a rule with :func:`lab.kaconf.lint.base.register` is all it takes to add one.
Name the module after the rule id, dashes as underscores (``weight-gap`` -> ``weight_gap.py``)."""
