"""``python -m kana_keras.synth --out DIR``: draw the synthetic set."""

import sys

from kana_keras.synth.dataset import main

sys.exit(main())
