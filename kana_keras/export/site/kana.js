// kana-keras in the browser: the decoder (ONNX) and its tables, mirroring
// kana_keras.inference.KanaGenerator's sample, interpolate and write.
"use strict";

const kana = { timings: { start: performance.now() } };
window.kana = kana;

// ## Loading: meta.json (sizes, kana, limits), tables.bin (float32 tables), decoder.onnx

async function load() {
  ort.env.wasm.wasmPaths = new URL("ort/", location.href).href;  // a URL: import() needs one
  ort.env.wasm.numThreads = 1;  // threads need cross-origin isolation, which static hosts lack
  const meta = await (await fetch("meta.json")).json();
  const bytes = await (await fetch("tables.bin")).arrayBuffer();
  const tables = {};
  for (const [name, [offset, shape]] of Object.entries(meta.tables)) {
    tables[name] = new Float32Array(bytes, offset, shape.reduce((a, b) => a * b, 1));
  }
  const session = await ort.InferenceSession.create("decoder.onnx", { executionProviders: ["wasm"] });
  Object.assign(kana, { meta, tables, session, index: new Map(meta.classes.map((c, i) => [c, i])) });
  kana.timings.ready = performance.now();
}

// ## The model: style eps -> z (the fitted prior), z and class -> picture

// z = mean_c + scale_c @ eps: kana_keras.export.onnx.prior_tables read this off vae.from_style.
function fromStyle(eps, label) {
  const d = kana.meta.latent_dim, z = new Float32Array(d);
  const mean = kana.tables.mean, scale = kana.tables.scale, base = label * d * d;
  for (let i = 0; i < d; i++) {
    let sum = mean[label * d + i];
    for (let j = 0; j < d; j++) sum += scale[base + i * d + j] * eps[j];
    z[i] = sum;
  }
  return z;
}

// The decoder's inputs for rows (z, a, b, weight of a): onnx.decoder_inputs' twin.
function decoderInputs(rows) {
  const { latent_dim: d, embedding_dim: e, image_size: s } = kana.meta;
  const n = rows.length, z = new Float32Array(n * d), v = new Float32Array(n * e);
  const t = new Float32Array(n * s * s), vectors = kana.tables.vectors, templates = kana.tables.templates;
  rows.forEach(([zr, a, b, w], r) => {
    z.set(zr, r * d);
    for (let k = 0; k < e; k++) v[r * e + k] = w * vectors[a * e + k] + (1 - w) * vectors[b * e + k];
    for (let k = 0; k < s * s; k++) t[r * s * s + k] = w * templates[a * s * s + k] + (1 - w) * templates[b * s * s + k];
  });
  return { z: new ort.Tensor("float32", z, [n, d]), class_vector: new ort.Tensor("float32", v, [n, e]),
           template: new ort.Tensor("float32", t, [n, s, s, 1]) };
}

// Rows -> ink-high pictures (Float32Array of n*s*s in [0, 1]), in chunks to keep memory small.
async function decode(rows) {
  const s = kana.meta.image_size, out = new Float32Array(rows.length * s * s);
  for (let start = 0; start < rows.length; start += 64) {
    const feeds = decoderInputs(rows.slice(start, start + 64));
    const result = await kana.session.run(feeds);
    out.set(result[kana.session.outputNames[0]].data, start * s * s);
  }
  return out;
}

// ## Randomness: numpy's streams cannot be matched here, only their distribution

function generator(seed) {
  let state = (seed === null ? Math.floor(Math.random() * 2 ** 32) : seed) >>> 0;
  const uniform = () => {  // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal, eps: (scale) => Float32Array.from({ length: kana.meta.latent_dim }, () => normal() * scale) };
}

// ## Inputs, refused with the Python API's messages

function unknownMessage(unknown) {
  const c = kana.meta.classes, shown = [...new Set(unknown)].map((u) => `'${u}'`).join(", ");
  return `unknown character(s) ${shown}: this model knows ${c.length} kana ` +
    `(${c.slice(0, 5).join("")}…${c.slice(-3).join("")})`;
}

function labelsFor(text) {
  const chars = [...text].filter((c) => !kana.meta.spaces.includes(c));
  const unknown = chars.filter((c) => !kana.index.has(c));
  if (unknown.length) throw new Error(unknownMessage(unknown));
  return chars.map((c) => kana.index.get(c));
}

function wholeNumber(name, value, low, high) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < low || n > high) {
    throw new Error(`${name} must be a whole number, at least ${low} and at most ${high}, got ${value}`);
  }
  return n;
}

// ## Drawing on a canvas: ink-high pictures -> black on white, one cell each

function paint(canvas, pictures, cols, rows, scale = 1) {
  const s = kana.meta.image_size;
  canvas.width = cols * s; canvas.height = rows * s;
  canvas.style.width = `${cols * s * scale}px`;
  const ctx = canvas.getContext("2d"), img = ctx.createImageData(cols * s, rows * s);
  img.data.fill(255);
  pictures.forEach(([pixels, col, row, size = s, dx = 0, dy = 0]) => {
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
      const v = 255 - Math.round(255 * Math.min(1, Math.max(0, pixels[y * size + x])));
      const p = ((row * s + dy + y) * cols * s + col * s + dx + x) * 4;
      img.data[p] = img.data[p + 1] = img.data[p + 2] = Math.min(img.data[p], v);
    }
  });
  ctx.putImageData(img, 0, 0);
}

function cell(pictures, i) {
  const n = kana.meta.image_size ** 2;
  return pictures.subarray(i * n, (i + 1) * n);
}

// ## The three uses

async function sample(text, count, temperature, seed = null) {
  count = wholeNumber("How many", count, 1, kana.meta.max_samples);
  const rng = generator(seed), c = kana.meta.classes.length;
  const chosen = text.trim() ? labelsFor(text) : null;
  const labels = Array.from({ length: count }, (_, i) => chosen ? chosen[i % chosen.length] : Math.floor(rng.uniform() * c));
  const pictures = await decode(labels.map((l) => { const z = fromStyle(rng.eps(temperature), l); return [z, l, l, 1]; }));
  const canvas = document.getElementById("sample-canvas"), cols = Math.min(count, 8);
  paint(canvas, labels.map((_, i) => [cell(pictures, i), i % cols, Math.floor(i / cols)]), cols, Math.ceil(count / cols), 2);
  canvas.dataset.kana = labels.map((l) => kana.meta.classes[l]).join("");
  canvas.dataset.cols = cols;
}

async function interpolate(from, to, steps) {
  steps = wholeNumber("steps", steps, 2, kana.meta.max_steps);
  const a = kana.index.get(from), b = kana.index.get(to), zero = new Float32Array(kana.meta.latent_dim);
  const za = fromStyle(zero, a), zb = fromStyle(zero, b);  // a kana alone: its prior's centre
  const rows = Array.from({ length: steps }, (_, i) => {
    const w = 1 - i / (steps - 1);
    return [za.map((v, k) => w * v + (1 - w) * zb[k]), a, b, w];
  });
  const pictures = await decode(rows);
  paint(document.getElementById("interpolate-canvas"), rows.map((_, i) => [cell(pictures, i), i, 0]), steps, 1, 2);
}

async function write(text, seed) {
  const m = kana.meta;
  if (!text.trim()) throw new Error("no text to write: type some kana, e.g. ありがとう");
  if ([...text].length > m.max_write_chars) {
    throw new Error(`text too long: ${[...text].length.toLocaleString("en")} characters, at most ${m.max_write_chars} at a time`);
  }
  const drawable = (c) => kana.index.has(c) || c in m.small_kana;
  const unknown = [...text].filter((c) => !drawable(c) && c !== m.long_vowel && !m.spaces.includes(c) && c !== "\n");
  if (unknown.length) throw new Error(unknownMessage(unknown));
  const eps = generator(wholeNumber("Handwriting seed", seed, 0, 2 ** 32 - 1)).eps(m.write_temperature);
  const lines = text.split("\n").map((line) => [...line]);
  const drawn = lines.flat().filter(drawable).map((c) => kana.index.get(m.small_kana[c] || c));
  const pictures = await decode(drawn.map((l) => [fromStyle(eps, l), l, l, 1]));
  const s = m.image_size, small = Math.round(s * m.small_scale), cells = [];
  let next = 0;
  lines.forEach((line, row) => line.forEach((c, col) => {
    if (c === m.long_vowel) cells.push([longVowel(s), col, row]);
    else if (c in m.small_kana) cells.push([shrink(cell(pictures, next++), s, small), col, row, small,
                                             Math.max(0, Math.floor((s - small) / 2) - Math.floor(0.05 * s)), s - small]);
    else if (drawable(c)) cells.push([cell(pictures, next++), col, row]);
  }));
  paint(document.getElementById("write-canvas"), cells, Math.max(1, ...lines.map((l) => l.length)), lines.length, 2);
}

function longVowel(s) {  // ー: a stroke across the cell's middle
  const out = new Float32Array(s * s), width = Math.max(1, Math.round(0.06 * s));
  for (let x = Math.floor(0.15 * s); x < 0.85 * s; x++) {
    for (let k = 0; k < width; k++) out[(Math.floor(s / 2) + k) * s + x] = 0.9;
  }
  return out;
}

function shrink(pixels, s, k) {  // area average down to k x k, as cv2.INTER_AREA does
  const out = new Float32Array(k * k), f = s / k;
  for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) {
    let sum = 0, n = 0;
    for (let yy = Math.floor(y * f); yy < Math.floor((y + 1) * f); yy++)
      for (let xx = Math.floor(x * f); xx < Math.floor((x + 1) * f); xx++) { sum += pixels[yy * s + xx]; n++; }
    out[y * k + x] = sum / Math.max(1, n);
  }
  return out;
}

// ## The page: tabs, buttons, messages

function button(id, job) {
  const message = document.getElementById(`${id}-message`);
  document.getElementById(`${id}-go`).addEventListener("click", async () => {
    message.textContent = "";
    try { await job(); } catch (e) { message.textContent = e.message; }
  });
}

function setUp() {
  document.querySelectorAll('[role="tab"]').forEach((tab) => tab.addEventListener("click", () => {
    document.querySelectorAll('[role="tab"]').forEach((t) => {
      t.setAttribute("aria-selected", String(t === tab));
      document.getElementById(t.getAttribute("aria-controls")).hidden = t !== tab;
    });
  }));
  const classes = kana.meta.classes;
  for (const [id, value] of [["interpolate-from", classes[0]], ["interpolate-to", classes[Math.floor(classes.length / 2)]]]) {
    const select = document.getElementById(id);
    classes.forEach((c) => select.add(new Option(c, c, false, c === value)));
  }
  const temperature = document.getElementById("sample-temperature");
  temperature.addEventListener("input", () => { document.getElementById("sample-temperature-value").value = temperature.value; });
  const value = (id) => document.getElementById(id).value;
  button("sample", () => sample(value("sample-kana"), value("sample-count"), Number(value("sample-temperature"))));
  button("interpolate", () => interpolate(value("interpolate-from"), value("interpolate-to"), value("interpolate-steps")));
  button("write", () => write(value("write-text"), value("write-seed")));
}

load().then(async () => {
  setUp();
  await sample("", 16, 1.0);
  kana.timings.firstSample = performance.now();
  document.getElementById("status").textContent = `Ready: ${kana.meta.classes.length} kana.`;
}).catch((e) => {
  document.getElementById("status").textContent = `The model did not load: ${e.message}`;
  kana.timings.error = e.message;
});
