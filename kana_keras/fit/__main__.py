"""``python -m kana_keras.fit``: see kana_keras.fit."""

import sys

from kana_keras.fit import main

sys.exit(main())
