"""The explorer (``kalab explore``): random fault schedules run live at a fast clock on several labs at once,
each judged by the election model; a schedule that breaks the rules (or that the judge cannot judge) is
shrunk, re-run live, to a minimal scenario file. :mod:`.schedule` (pure) draws and shrinks schedules;
:mod:`.search` runs them."""
