"""Measure a recognizer trained on a synthetic set: its test split and the held-out-forms proxy.

Two phases, so that a set drawn by another version of the code (e.g. the KanjiVG-only
synthesis before ``kana_keras.forms``) is scored by today's proxy:

    # today's synthesis, 60 writers, 6 epochs (a small run: about 10 min on two busy cores)
    nice -n 10 python tools/measure_forms.py train new 60 6
    nice -n 10 python tools/measure_forms.py proxy new 60 6
    # the KanjiVG-only baseline: train with the code of an older commit, score with today's
    git archive 5f20a9a kana_keras | tar x -C /tmp/old
    PYTHONPATH=/tmp/old nice -n 10 python tools/measure_forms.py train old 60 6
    nice -n 10 python tools/measure_forms.py proxy old 60 6

Results go to ``ROOT/NAME-WRITERS-EPOCHS/{train,proxy}.json`` (ROOT: ``$FORMS_OUT`` or
/tmp/forms-exp).
"""

import json
import os
import sys
import time
from pathlib import Path


def train(out: Path, writers: int, epochs: int) -> dict:
    from kana_keras import convert, synth
    from kana_keras import recognizer as R

    t = time.time()
    synth.generate(out / "etl", writers=writers, seed=0, workers=2, progress=False)
    t_synth = time.time() - t
    cache = convert.convert([out / "etl"], out / "cache", size=64, progress=False)
    t = time.time()
    m = R.train_recognizer(cache, out / "rec", epochs=epochs, progress=False)
    return {"writers": writers, "epochs": epochs, "synth_seconds": round(t_synth, 1),
            "recognizer_seconds": round(time.time() - t, 1),
            **{k: m.get(k) for k in ("train_seconds", "test_accuracy", "test_accuracy_strict",
                                     "test_photo_accuracy", "val_accuracy")}}


def proxy(out: Path) -> dict:
    from kana_keras import heldout
    from kana_keras import recognizer as R

    result = heldout.heldout_forms_accuracy(R.load_recognizer(out / "rec"), per_class=6, seed=0)
    shown = {k: result[k] for k in ("accuracy", "count", "per_source", "worst_classes", "confusions")}
    shown["dash_and_joined"] = {c: result["per_class"][c] for c in "ツシソンきさりゆねぬヌマ"}
    return shown


def main() -> int:
    phase, name, writers, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    out = Path(os.environ.get("FORMS_OUT", "/tmp/forms-exp")) / f"{name}-{writers}-{epochs}"
    result = train(out, writers, epochs) if phase == "train" else proxy(out)
    (out / f"{phase}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
