"""Take checks: each take measured for what a director would otherwise find by watching it.

One small module per check, each with a documented threshold (``thresholds.py``), the
engines it applies to, and a typed :class:`CheckResult` (value, pass / fail / warn /
not run, the reason in words):

=============  ===========================================================  ===========
check          measures                                                     engines
=============  ===========================================================  ===========
speech         each line heard as speech (Silero VAD) in its subtitle slot  all
stray-speech   speech in a shot without dialogue (warn, never fail)         all
voice          each line's speaker similarity to its cast voice vs the      nava
               shot's other speaker (ReDimNet with NAVA weights, else
               Resemblyzer)
words          CER (Chinese) / WER of each line, with ``--asr-model``;       all
               without one: not run
blank          share of solid-colour / black frames                         nava
frozen         longest stretch of unchanging picture                        nava
flicker        frames jumping in brightness from both neighbours            nava
seam           continued shot's first frame vs upstream take's last frame   nava
clipping       share of samples at full scale                               all
silence        share of the track under -60 dBFS                            all
dc-offset      channel mean                                                 all
loudness       integrated loudness vs the film's target                     nava
drift          (per chain) mean Lab of each shot vs the chain's first shot  nava
=============  ===========================================================  ===========

"not run" is neither a pass nor a fail: no model, or the check does not apply (the
animatic's picture is a drawn card, its voice a synthesizer's).

Stored format: a take's ``meta.json`` holds the record of :class:`TakeChecks` under
``"checks"``::

    "checks": {
      "version": 1,                 # CHECKS_VERSION: other versions are measured again
      "asr_model": null,            # the --asr-model folder name the words check used
      "mean_lab": [52.1, 3.0, 9.8], # the take's mean colour (drift is judged per chain)
      "seconds": 0.84,              # what measuring took
      "failed": ["speech"],         # the names of the checks that failed
      "results": [
        {"check": "speech", "status": "fail", "reason": "line 1 (chen: 好久不见。) has 0.0 s ...",
         "value": 0.0, "threshold": 0.3, "unit": "share of expected speech",
         "lines": [{"line": 1, "text": "好久不见。", "speaker": "chen", "value": 0.0, "status": "fail"}]},
        {"check": "blank", "status": "not-run", "reason": "the animatic's picture is a drawn card",
         "value": null, "threshold": null, "unit": ""}
      ]
    }

``status`` is one of ``pass``, ``fail``, ``warn``, ``not-run``; ``lines`` appears only on
the per-line checks (speech, voice, words). Drift is judged per chain, so it is not in a
take's record: ``check --json`` gives it per film take (``"drift"``), and ``report.json``
lists it with the rest. ``report.json`` holds, per shot, the film take's summary::

    "checks": {"answer": {"take": 3, "failed": ["speech"], "warned": [], "retakes": 2,
                          "chosen_by_checks": true}}

and the manifest's ``by_checks`` is the take the checks chose among retakes (``render
--retake``). The glue with the project folder is ``takes.py``.
"""

from nava_director.checks.check import Check, TakeContext, engine_family
from nava_director.checks.drift import chain_drift, mean_lab
from nava_director.checks.media import TakeMedia
from nava_director.checks.models import Models
from nava_director.checks.result import CheckResult, Status
from nava_director.checks.run import CHECKS, CHECKS_VERSION, TakeChecks, check_take, run_check
from nava_director.checks.script import ScriptLine, ShotScript
from nava_director.checks.thresholds import Thresholds

__all__ = [
    "CHECKS",
    "CHECKS_VERSION",
    "Check",
    "CheckResult",
    "Models",
    "ScriptLine",
    "ShotScript",
    "Status",
    "TakeChecks",
    "TakeContext",
    "TakeMedia",
    "Thresholds",
    "chain_drift",
    "check_take",
    "engine_family",
    "mean_lab",
    "run_check",
]
