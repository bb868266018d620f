"""Demos that last without this machine: a static web page and a Gradio Space folder.

    python -m kana_keras.export web   --weights weights --out site/
    python -m kana_keras.export space --weights weights --out space/
"""
