"""The judge (pure): a history and the election model -> holds / violated / cannot judge.

* :mod:`~lab.judge.inputs` - which history events drive the model (node actions, faults' declared meanings);
* :mod:`~lab.judge.judge` - judging every window and transition;
* :mod:`~lab.judge.verdict` - the three verdicts and how they merge;
* :mod:`~lab.judge.text` - the one timeline-tail and failure text.
"""
from .inputs import Unjudgeable, fault_inputs, model_inputs
from .judge import Judgement, ModelReport, deadline, is_start, judge, ready_event, t_in
from .text import failure_text, timeline_tail
from .verdict import Verdict, merge

__all__ = ["Unjudgeable", "fault_inputs", "model_inputs", "Judgement", "ModelReport", "deadline", "is_start", "judge",
           "ready_event", "t_in", "failure_text", "timeline_tail", "Verdict", "merge"]
