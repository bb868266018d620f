"""The Python API people (and the demo) use: sample, reconstruct, interpolate, write, recognize.

Plain, tested functions over a trained weights folder. Images in are anything PIL or numpy
can hold (any size, mode, polarity; a Gradio Sketchpad value too); images out are uint8,
black ink on white paper, the way people look at handwriting. Unusable input (an empty
canvas, something that is not an image, a character the model does not know) raises a
``ValueError`` whose message can be shown to a user as it is.

Example:
    >>> gen = KanaGenerator.load("weights")
    >>> grid = gen.sample(16, kana="あいう", seed=0)
    >>> prepared, reconstruction = gen.reconstruct("photo_of_my_a.jpg")
    >>> gen.recognize("photo_of_my_a.jpg")       # [("あ", 0.97), ("お", 0.01), ...]
    >>> line = gen.write("ありがとう", seed=3)
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from kana_keras import preprocess
from kana_keras.kana import LONG_VOWEL, SMALL_KANA
from kana_keras.images import to_uint8
from kana_keras.model import load_vae
from kana_keras.recognizer import has_recognizer, load_recognizer, ranked

SMALL_SCALE = 0.62
SPACES = " \u3000"
#: ``write`` without a writer bank draws one careful person: a style a little closer to the mean.
WRITE_TEMPERATURE = 0.8
#: ``write`` from the writer bank moves the writer's styles by this much shared noise, so
#: the same writer never writes a word twice exactly alike.
WRITE_NUDGE = 0.2
#: Limits that keep one request from holding the machine (a page of text, a long morph).
MAX_SAMPLES = 1024
MAX_STEPS = 64
MAX_WRITE_CHARS = 400
MAX_PHOTO_SIDE = 1024
EMPTY_CANVAS = "the canvas is empty: draw a kana on the canvas or upload a photo of one"

# Latent codes: a model samples from N(mu_c, Sigma_c) per class: the Gaussians fitted to its
# training codes when it has them (``fit_latent_prior``), else its trained prior (N(0, I) for
# the standard one). Every sample and every "style" here is eps ~ N(0, I), mapped to a class's
# codes with ``vae.from_style`` (z = mu_c + L_c eps) and back with ``vae.to_style``; so one
# style fits every class, and for the standard prior eps is z itself.


class NoRecognizerError(ValueError):
    """The weights folder holds no recognizer, so there is nothing to recognise with."""


class Reconstruction(tuple):
    """(prepared, reconstruction), both uint8 black-on-white; ``.kana`` is the class used."""

    def __new__(cls, prepared, reconstruction, kana=None):
        self = super().__new__(cls, (prepared, reconstruction))
        self.kana = kana
        return self

    @property
    def prepared(self):
        return self[0]

    @property
    def reconstruction(self):
        return self[1]


def to_paper(images) -> np.ndarray:
    """Ink-high float/uint8 (N, S, S[, 1]) → uint8 black ink on white."""
    return 255 - to_uint8(images)


def read_canvas(value) -> np.ndarray | None:
    """A Gradio Sketchpad/ImageEditor value -> its drawing, black on white; None if blank.

    The drawing is the layers' alpha: the composite's background is white or dark grey with
    the theme, and API callers may send no composite. An uploaded picture (no inked layer)
    is the composite or background, when it is not one flat colour.
    """
    value = value or {}
    alphas = [np.asarray(x)[..., 3] for x in value.get("layers") or []
              if x is not None and np.asarray(x).ndim == 3 and np.asarray(x).shape[-1] == 4]
    inked = [a for a in alphas if a.shape == alphas[0].shape and a.max() > 0]
    if inked:
        return 255 - np.max(inked, axis=0).astype(np.uint8)
    for key in ("composite", "background"):
        picture = value.get(key)
        if picture is not None and np.ptp(np.asarray(picture)) > 0:
            return np.asarray(picture)
    return None


def read_photo(path, max_side: int = MAX_PHOTO_SIDE) -> np.ndarray:
    """An image file as an array (L, RGB or RGBA), upright, at most ``max_side`` a side: a
    6000x4000 phone JPEG is decoded at reduced size, so it costs little."""
    try:
        with Image.open(path) as img:
            img.draft(img.mode, (max_side, max_side))  # JPEG: decode at reduced size
            img = ImageOps.exif_transpose(img)
            img.thumbnail((max_side, max_side))
            alpha = "A" in img.getbands() or "transparency" in img.info
            return np.asarray(img if img.mode in ("L", "RGB", "RGBA") else
                              img.convert("RGBA" if alpha else "RGB"))
    except Exception as e:  # PIL raises many kinds for a non-image or a truncated file
        raise ValueError(f"{Path(path).name} is not a readable image ({e.__class__.__name__}): "
                         "upload a PNG or JPEG photo or scan of one kana") from None


def _image_input(image):
    """A Sketchpad/ImageEditor value -> its drawing (blank: ValueError); else passes through."""
    if isinstance(image, dict):
        drawing = read_canvas(image)
        if drawing is None:
            raise ValueError(EMPTY_CANVAS)
        return drawing
    if isinstance(image, str) and len(image) == 1:
        raise ValueError(f"expected an image, got the character {image!r}")
    return image


def _rng(seed) -> np.random.Generator:
    """numpy's generator for a user's seed: None, or a whole number >= 0."""
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0 (or None), got {seed!r}")
    return np.random.default_rng(int(seed))


def _check_count(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number, at least {low} and at most {high}, "
                         f"got {value!r}")
    return int(value)


class KanaGenerator:
    """A trained KanaVAE (and, if present, the recognizer beside it) behind a small API."""

    def __init__(self, vae, config: dict, recognizer=None, weights_dir=None):
        self.vae = vae
        self.config = config
        self.recognizer = recognizer
        self.weights_dir = Path(weights_dir) if weights_dir is not None else None
        self.classes: list[str] = list(config["classes"])
        self.image_size: int = int(vae.image_size)
        self.latent_dim: int = int(vae.latent_dim)
        self.conditional: bool = bool(vae.conditional)
        self._index = {c: i for i, c in enumerate(self.classes)}
        self._warm_up()

    @classmethod
    def load(cls, weights_dir="weights") -> "KanaGenerator":
        """Load kana_vae.* (required) and recognizer.* (optional) from one folder."""
        weights_dir = Path(weights_dir)
        if not weights_dir.is_dir():
            raise FileNotFoundError(f"{weights_dir}: no such weights folder "
                                    "(train one with `python -m kana_keras.fit`)")
        vae, config = load_vae(weights_dir)
        recognizer = load_recognizer(weights_dir) if has_recognizer(weights_dir) else None
        if recognizer is not None and list(recognizer.classes) != list(config["classes"]):
            missing = set(config["classes"]) - set(recognizer.classes)
            if missing:
                raise ValueError(f"{weights_dir}: the recognizer does not know the VAE's classes "
                                 f"{''.join(sorted(missing))}")
        return cls(vae, config, recognizer, weights_dir)

    # === Decoding and encoding: the model's own ===

    def _decode(self, z, labels=None) -> np.ndarray:
        """(N, latent) → float (N, S, S, 1) in [0, 1]."""
        return self.vae.decode(z, labels if self.conditional else None)

    def _encode(self, images, labels=None):
        return self.vae.encode(images, labels if self.conditional else None)

    def _warm_up(self) -> None:
        """Run the encoder and decoder once at load, so the first user request is fast."""
        for n in (16, 1):
            self._decode(np.zeros((n, self.latent_dim), np.float32), np.zeros(n, np.int32))
        self._encode(np.zeros((1, self.image_size, self.image_size), np.float32), [0])

    # === Inputs ===

    def _labels_for(self, kana, n: int | None = None) -> np.ndarray:
        """'あ', 'あいう', ['あ', 'い'] or class indices → int32 indices (unknown → ValueError)."""
        if isinstance(kana, str):
            chars = [c for c in kana if c not in SPACES]
        elif isinstance(kana, (int, np.integer)):
            chars = [int(kana)]
        else:
            chars = list(kana)
        if not chars:
            raise ValueError("no kana given: pass one or more characters the model knows")
        out, unknown = [], []
        for c in chars:
            if isinstance(c, (int, np.integer)):
                if not 0 <= int(c) < len(self.classes):
                    raise ValueError(f"class index {c} out of range 0..{len(self.classes) - 1}")
                out.append(int(c))
            elif c in self._index:
                out.append(self._index[c])
            else:
                unknown.append(str(c))
        if unknown:
            raise ValueError(self._unknown_message(unknown))
        labels = np.asarray(out, np.int32)
        return np.resize(labels, n) if n is not None else labels

    def _unknown_message(self, unknown) -> str:
        shown = ", ".join(repr(u) for u in dict.fromkeys(unknown))
        return (f"unknown character(s) {shown}: this model knows {len(self.classes)} kana "
                f"({''.join(self.classes[:5])}…{''.join(self.classes[-3:])})")

    def prepare(self, image, size: int | None = None) -> np.ndarray:
        """Any picture of one kana → the model's view: uint8 (S, S), ink high."""
        return preprocess.prepare(_image_input(image), size=size or self.image_size, ink="auto")

    def _guess_label(self, ink_high: np.ndarray, raw=None) -> int:
        """The class of a prepared image: the recognizer's top-1, else best reconstruction."""
        if self.recognizer is not None:
            size = self.recognizer.image_size
            if ink_high.shape[0] == size:
                view = ink_high
            elif raw is not None:
                view = self.prepare(raw, size)
            else:
                view = cv2.resize(ink_high, (size, size), interpolation=cv2.INTER_AREA)
            return int(self.recognizer.predict(view)[0])
        # analysis by synthesis: the class whose decoder redraws this image best
        n = len(self.classes)
        x = np.repeat(ink_high[None].astype(np.float32) / 255.0, n, axis=0)
        labels = np.arange(n, dtype=np.int32)
        z_mean, _ = self._encode(x, labels)
        recon = self._decode(z_mean, labels)[..., 0]
        return int(np.argmin(((recon - x) ** 2).sum(axis=(1, 2))))

    # === The API ===

    def sample(self, n: int = 16, kana=None, seed=None, temperature: float = 1.0) -> np.ndarray:
        """``n`` new kana from the prior (of the given classes, cycled): uint8 (n, S, S)."""
        n = _check_count("n", n, 1, MAX_SAMPLES)
        if not np.isfinite(temperature) or temperature < 0:
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
        rng = _rng(seed)
        if kana is not None and not self.conditional:
            raise ValueError("this model is unconditional (the blog preset): it cannot draw a "
                             "chosen kana; call sample() without kana")
        labels = None
        if self.conditional:
            labels = self._labels_for(kana, n) if kana is not None else \
                rng.integers(0, len(self.classes), n).astype(np.int32)
        eps = rng.standard_normal((n, self.latent_dim)).astype(np.float32) * float(temperature)
        return to_paper(self._decode(self.vae.from_style(eps, labels), labels))

    def sample_labels(self, n: int, kana=None, seed=None) -> list[str]:
        """The kana ``sample(n, kana, seed)`` draws, in order (for captions)."""
        rng = _rng(seed)
        if not self.conditional:
            return [""] * n
        labels = self._labels_for(kana, n) if kana is not None else \
            rng.integers(0, len(self.classes), n)
        return [self.classes[i] for i in labels]

    def reconstruct(self, image, kana=None) -> Reconstruction:
        """Prepare, encode (mean), decode → (prepared, reconstruction), uint8 black on white.

        A conditional model needs the class: ``kana`` if given, else the recognizer's top-1,
        else the class whose decoder redraws the image best. It is in ``result.kana``.
        """
        prepared, label, z_mean = self._encode_image(image, kana)
        recon = self._decode(z_mean[None], [label] if label is not None else None)
        return Reconstruction(255 - prepared, to_paper(recon)[0],
                              self.classes[label] if label is not None else None)

    def encode_style(self, image, kana=None) -> np.ndarray:
        """A drawing's style: its z mean as eps of its class's prior (``vae.to_style``).

        Class-free, so ``write(text, style=encode_style(drawing))`` keeps the hand for other
        kana; with the standard prior it is the z mean itself.
        """
        _, label, z_mean = self._encode_image(image, kana)
        return self._to_style(z_mean, label)

    def _to_style(self, z_mean, label) -> np.ndarray:
        """One z mean (latent_dim,) of class ``label`` (None: unconditional) -> its eps."""
        return self.vae.to_style(z_mean[None], None if label is None else [label])[0]

    def _encode_image(self, image, kana=None):
        """Any picture → (prepared uint8 ink-high, class index or None, z mean (latent_dim,))."""
        raw = _image_input(image)
        prepared = self.prepare(raw)
        label = None
        if self.conditional:
            label = int(self._labels_for(kana)[0]) if kana is not None else \
                self._guess_label(prepared, raw)
        z_mean, _ = self._encode(prepared[None].astype(np.float32) / 255.0,
                                 [label] if label is not None else None)
        return prepared, label, z_mean[0]

    def _endpoint(self, item):
        """A kana character or an image → (style eps, class index or None).

        A kana alone is its prior's centre (eps 0); a drawing is its encoding as eps.
        """
        if isinstance(item, str) and not Path(item).exists():
            if len(item) != 1:
                raise ValueError(f"expected one kana or a picture, got {item!r} (no such image "
                                 "file, and not a single character)")
            if not self.conditional:
                raise ValueError("this model is unconditional (the blog preset): interpolate "
                                 "between two images, not two characters")
            return np.zeros(self.latent_dim, np.float32), int(self._labels_for(item)[0])
        _, label, z_mean = self._encode_image(item)
        return self._to_style(z_mean, label), label

    def _blended_latents(self, eps: np.ndarray, weights_a: np.ndarray, la: int,
                         lb: int) -> np.ndarray:
        """eps (N, latent) → z under the two kana's priors mixed like their classes (weight
        of a per row, (N, 1)): the path runs from where a's codes lie to where b's do."""
        za = self.vae.from_style(eps, np.full(len(eps), la, np.int32))
        zb = self.vae.from_style(eps, np.full(len(eps), lb, np.int32))
        return (weights_a * za + (1 - weights_a) * zb).astype(np.float32)

    def interpolate(self, a, b, steps: int = 8) -> np.ndarray:
        """``steps`` images morphing a into b (kana characters or images): uint8 (steps, S, S).

        Styles (eps) are blended linearly; for a conditional model the class embeddings and
        the class priors too, so あ → お passes through shapes between the two.
        """
        steps = _check_count("steps", steps, 2, MAX_STEPS)
        (ea, la), (eb, lb) = self._endpoint(a), self._endpoint(b)
        t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
        eps = (1 - t) * ea[None] + t * eb[None]
        if not self.conditional:
            return to_paper(self._decode(eps))
        if la == lb:
            labels = np.full(steps, la, np.int32)
            return to_paper(self._decode(self.vae.from_style(eps, labels), labels))
        z = self._blended_latents(eps, 1 - t, la, lb)
        return to_paper(self.vae.decode_blend(z, la, lb, 1 - t[:, 0]))

    def write(self, text: str, style=None, seed=None) -> np.ndarray:
        """``text`` in one consistent synthetic handwriting: uint8 (rows*S, cols*S), black on white.

        ``style``: None (a writer drawn from ``seed``), a drawing of one kana (its encoded
        style is kept, the class changes), or a latent vector, read as the class-free style
        eps of ``encode_style`` (mapped to each kana's prior). Spaces are blank cells,
        newlines start a row, small kana (ゃ, ッ...) are their large class scaled down, ー is
        drawn as a stroke. Other characters raise a ValueError naming them.
        """
        if not isinstance(text, str):
            raise ValueError(f"text must be a string, got {type(text).__name__}")
        if not text.strip():
            raise ValueError("no text to write: type some kana, e.g. ありがとう")
        if len(text) > MAX_WRITE_CHARS:
            raise ValueError(f"text too long: {len(text):,} characters, at most "
                             f"{MAX_WRITE_CHARS} at a time")
        if not self.conditional:
            raise ValueError("this model is unconditional (the blog preset): it cannot write "
                             "chosen kana; use the default preset's weights")
        unknown = [c for c in text if c not in self._index and c not in SMALL_KANA
                   and c != LONG_VOWEL and c not in SPACES and c != "\n"]
        if unknown:
            raise ValueError(self._unknown_message(unknown))
        cells = [list(row) for row in text.split("\n")]
        drawn = [c for row in cells for c in row if c in self._index or c in SMALL_KANA]
        labels = np.asarray([self._index[SMALL_KANA.get(c, c)] for c in drawn], np.int32)
        eps = self._write_styles(style, seed, labels)
        z = self.vae.from_style(eps, labels)
        return lay_out(cells, list(self._decode(z, labels)[..., 0]), self.image_size)

    def random_style(self, seed=None) -> np.ndarray:
        """A random hand's style vector (what ``write`` uses without a bank), for ``seed``."""
        return (_rng(seed).standard_normal(self.latent_dim) * WRITE_TEMPERATURE).astype(
            np.float32)

    def _write_styles(self, style, seed, labels) -> np.ndarray:
        """One hand's style (eps) for each kana of a word: (len(labels), latent_dim).

        No style: one training writer of the writer bank, as they drew each of these kana,
        all moved by one small shared nudge (a model without a bank: one random eps for all).
        A drawing or a style vector: that eps for every kana.
        """
        n = len(labels)
        if style is None:
            rng = _rng(seed)
            writer = self.vae.pick_bank_writer(labels, rng)  # None draws nothing from rng
            if writer is None:
                return np.repeat(self.random_style(seed)[None], n, 0)
            nudge = rng.standard_normal(self.latent_dim).astype(np.float32)
            return self.vae.bank_writer_styles(labels, writer) + WRITE_NUDGE * nudge[None]
        if isinstance(style, np.ndarray) and style.ndim == 1 and style.size == self.latent_dim:
            if not np.isfinite(style).all():
                raise ValueError("style vector has NaN or infinite entries: pass the output of "
                                 "encode_style(), or None for a random hand")
            return np.repeat(style.astype(np.float32)[None], n, 0)
        return np.repeat(self.encode_style(style)[None], n, 0)

    def font(self, drawings, name: str = "My hand", kana=None, seed=None,
             flavor: str = "otf") -> bytes:
        """An OpenType font (bytes; ``flavor`` "otf" or "ttf") of every kana in the hand of
        1-5 ``drawings`` (each its kana in ``kana``, or recognised); see kana_keras.font."""
        from kana_keras.font import make_font  # fontTools only for those who ask for fonts

        return make_font(self, drawings, name=name, kana=kana, seed=seed, flavor=flavor)

    def recognize(self, image, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most likely kana of a picture with calibrated probabilities."""
        k = self._recognizer_k(k)
        prepared = self.prepare(image, self.recognizer.image_size)
        return ranked(self.recognizer.probabilities(prepared)[0], self.recognizer.classes, k)

    def recognize_batch(self, images, k: int = 1) -> list[list[tuple[str, float]] | None]:
        """``recognize`` for many pictures in one forward pass; None where ``recognize``
        would refuse the picture (nothing stands out from the paper).

        The same ``prepare`` and the same calibrated recognizer as ``recognize``: this is how
        ``evaluate`` scores what users are handed.
        """
        k = self._recognizer_k(k)
        views, kept = [], []
        for i, image in enumerate(images):
            try:
                views.append(self.prepare(image, self.recognizer.image_size))
                kept.append(i)
            except ValueError:
                pass
        results: list = [None] * len(images)
        if views:
            for i, p in zip(kept, self.recognizer.probabilities(np.stack(views))):
                results[i] = ranked(p, self.recognizer.classes, k)
        return results

    def _recognizer_k(self, k) -> int:
        """k as an int >= 1, once there is a recognizer to ask (else NoRecognizerError)."""
        if self.recognizer is None:
            where = self.weights_dir or "the weights folder"
            raise NoRecognizerError(
                f"no recognizer in {where}: train one with "
                f"`python -m kana_keras.recognizer --out {where}`")
        k = int(k)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        return k


def lay_out(cells: list[list[str]], glyphs: list[np.ndarray], s: int) -> np.ndarray:
    """Rows of characters → one page, uint8 black on white: each drawn glyph (ink-high float
    (s, s), in order) in its cell; spaces blank, small kana scaled down and set low, ー a
    stroke as wide and dark as the hand around it."""
    ink = max([0.6] + [float(g.max()) for g in glyphs])
    width = _mean_stroke_width(glyphs, s)
    page = np.zeros((len(cells) * s, max(1, max(len(row) for row in cells)) * s), np.float32)
    glyph_iter = iter(glyphs)
    for r, row in enumerate(cells):
        for c, ch in enumerate(row):
            cell = page[r * s:(r + 1) * s, c * s:(c + 1) * s]
            if ch in SPACES:
                continue
            if ch == LONG_VOWEL:
                y = s // 2
                cv2.line(cell, (int(s * 0.15), y), (int(s * 0.85), y + int(s * 0.02)), ink,
                         max(1, int(round(width))), cv2.LINE_AA)
            elif ch in SMALL_KANA:
                k = int(round(s * SMALL_SCALE))
                small = cv2.resize(next(glyph_iter), (k, k), interpolation=cv2.INTER_AREA)
                x0 = max(0, (s - k) // 2 - int(0.05 * s))
                cell[s - k:s, x0:x0 + k] = small
            else:
                cell[:] = next(glyph_iter)
    return 255 - to_uint8(page)[0]


def _mean_stroke_width(glyphs, s: int) -> float:
    """Stroke width (pixels) of the drawn kana, so ー matches the hand around it."""
    widths = []
    for g in glyphs:
        mask = (g > 0.35).astype(np.uint8) * 255
        if mask.any():
            widths.append(preprocess.stroke_width(mask))
    # a blurry model's blobs would give a slab: keep it to a plausible pen
    return float(np.clip(np.median(widths), 1.0, 0.1 * s)) if widths else 0.06 * s
