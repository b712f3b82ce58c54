// splinewatch report and live page: draws DATA (charts, alerts, partition timelines) with uPlot.
"use strict";
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
  "#bcbd22"];

// The colour of curve i of a chart of n: the palette's where its ten suffice; on a chart of more (several runs
// overlaid: eight runs with two planes and the data plane are 24 curves) n distinct hues, so that no two runs' curves
// are drawn alike. Consecutive curves (one run's planes or layers) get hues far apart and alternate in lightness.
function seriesColour(i, n) {
  if (n <= COLORS.length) return COLORS[i];
  const gcd = (a, b) => b ? gcd(b, a % b) : a;
  let k = Math.max(1, Math.round(n * 0.382));
  while (gcd(k, n) !== 1) k++;
  return "hsl(" + Math.round((i * k) % n * 3600 / n) / 10 + ", 70%, " + (i % 2 ? 36 : 50) + "%)";
}

// One mark per step at which items ({run, step}) fall, in step order, labelled by label(step, the runs of items at
// that step, whether the data hold several runs).
function stepMarks(items, runs, label) {
  const runsAt = new Map();
  for (const a of items) {
    const at = runsAt.get(a.step) || [];
    if (!at.includes(a.run)) at.push(a.run);
    runsAt.set(a.step, at);
  }
  const several = (runs || []).length > 1;
  return [...runsAt.keys()].sort((a, b) => a - b).map(step => ({step: step,
    label: label(step, runsAt.get(step), several)}));
}

// The dashed alert lines of a chart, one per step with an alert, in step order; where the data hold several runs
// (data.runs) each is labelled with the runs whose alerts started firing at that step: a line crosses every run's
// curves, and unlabelled one run's collapse alert read as the healthy runs' too.
function alertMarks(data) {
  return stepMarks(data.alerts, data.runs, (step, runs, several) => several ? runs.join(", ") : "");
}

// The dashed resume lines of a chart, one per step at which a run was resumed from a checkpoint (data.resumes, the
// run_resumed events of the trajectory the run is on), in step order, each labelled "resumed at step N", after the
// runs' names where the data hold several runs.
function resumeMarks(data) {
  return stepMarks(data.resumes || [], data.runs, (step, runs, several) =>
    (several ? runs.join(", ") + ": " : "") + "resumed at step " + step);
}

// Draws the vertical dashed lines of marks (alertMarks, resumeMarks) on plot u in colour, labels at the top of the
// plot (from row 0) or at its bottom; neighbours' labels at three heights so that they do not overlap.
function drawMarks(u, marks, colour, bottom) {
  const ctx = u.ctx;
  const px = typeof devicePixelRatio === "number" ? devicePixelRatio : 1; // the canvas counts device pixels
  ctx.save();
  ctx.strokeStyle = colour.line;
  ctx.fillStyle = colour.text;
  ctx.font = Math.round(10 * px) + "px sans-serif";
  ctx.setLineDash(colour.dash);
  ctx.lineWidth = 1;
  marks.forEach((m, k) => {
    const x = u.valToPos(m.step, "x", true);
    if (x >= u.bbox.left && x <= u.bbox.left + u.bbox.width) {
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      if (m.label) { // beside the line, inside the plot
        const right = x > u.bbox.left + u.bbox.width / 2;
        ctx.textAlign = right ? "right" : "left";
        const row = (10 + 11 * (k % 3)) * px;
        ctx.fillText(m.label, x + (right ? -3 : 3) * px, bottom ? u.bbox.top + u.bbox.height - row + 6 * px
          : u.bbox.top + row);
      }
    }
  });
  ctx.restore();
}
const ALERT_MARK = {line: "rgba(220,0,0,0.75)", text: "rgb(190,0,0)", dash: [4, 3]};
const RESUME_MARK = {line: "rgba(0,90,200,0.8)", text: "rgb(0,70,170)", dash: [7, 4]};

// uPlot's own number format keeps at most three decimals: a chart of small values (the mean region area as a
// fraction of the plane's domain is about 1e-5) would read 0 on every tick and in the legend. Ticks finer than 0.001
// get the digits their increment needs (exponent notation for values below 0.001); other ranges keep uPlot's format.
function axisValues(u, splits, axisIdx, space, incr) {
  return splits.map(v => v == null ? "" : tick(v, incr));
}
function tick(v, incr) {
  if (!(incr > 0 && incr < 1e-3) || v === 0) {
    return uPlot.fmtNum(v);
  }
  const step = Math.floor(Math.log10(incr));
  const extra = Math.round(incr / Math.pow(10, step) * 10) % 10 !== 0 ? 1 : 0; // 2.5e-4 needs one digit more
  if (Math.abs(v) < 1e-3) {
    return v.toExponential(Math.min(15, Math.max(0, Math.floor(Math.log10(Math.abs(v))) - step + extra)));
  }
  return v.toFixed(Math.min(15, -step + extra));
}
// raw: the series' values as the data have them; a step whose value is NaN or infinite says so (its string).
function legendValue(u, v, seriesIdx, idx, raw) {
  if (raw != null && idx != null && typeof raw[idx] === "string") {
    return raw[idx];
  }
  if (v == null) {
    return idx == null ? "--" : "";
  }
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(2) : uPlot.fmtNum(v);
}

// The data mark a step where a series has no sample with null (another series' step on the chart's shared x axis, an
// analyser that runs every few snapshots) and a non-finite sample (NC1 under complete collapse, a kNN accuracy of
// NaN) with its name as a string: JSON has no NaN. uPlot 1.6.30's line paths, with spanGaps false, break a line at
// null and pass over undefined; so a step without a sample becomes undefined (joined) and a non-finite one null (a
// gap), widened over the steps without a sample next to it (as uPlot's NULL_EXPAND) so that the gap runs from the
// sample before to the sample after and no part of a line through the undefined value is drawn.
function plotValues(values) {
  const out = values.map(v => v === null ? undefined : typeof v === "string" ? null : v);
  for (let i = 0; i < out.length; i++) {
    if (out[i] === null) {
      for (let j = i - 1; j >= 0 && out[j] === undefined; j--) out[j] = null;
      for (let j = i + 1; j < out.length && out[j] === undefined; j++) out[j] = null;
    }
  }
  return out;
}

// A chart's width in container: 560 px, narrower in a narrow window (the chart's border and padding: 10 px).
function chartWidth(container) {
  return Math.max(240, Math.min(560, (container.clientWidth || 570) - 10));
}

// The containers renderCharts has drawn into, refitted when the window is resized.
const chartContainers = new Set();

// Fits container's charts to its width again: uPlot keeps the size a chart was drawn at, so charts drawn before the
// window was made narrower stayed wider than it, and those drawn before it was made wider stayed narrow. setSize
// keeps a chart's data and zoom.
function fitCharts(container) {
  const width = chartWidth(container);
  for (const u of container.plots || []) {
    if (u.width !== width) u.setSize({width: width, height: u.height});
  }
}

if (typeof window !== "undefined" && window.addEventListener) {
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(() => chartContainers.forEach(fitCharts), 150);
  });
}

// The live page asks only for the samples written since its last answer (delta): they are merged into the charts it
// shows, step by step. A sample of a step the chart has is set in place (analyses finish after training has moved on,
// so their samples arrive out of step order); a null in the delta is a series without a sample at that step and
// keeps what the chart had. Returns the merged charts (new arrays; `charts` is left as it was), or null where the
// delta has a chart or series that `charts` lacks: the page then asks for everything, so colours keep their order.
function mergeCharts(charts, delta) {
  const merged = charts.map(c => ({title: c.title, runs: c.runs, x: c.x, series: c.series}));
  for (const d of delta) {
    const i = merged.findIndex(c => c.title === d.title);
    if (i < 0) return null;
    const c = merged[i];
    const labels = c.series.map(s => s.label);
    if (d.series.some(s => !labels.includes(s.label))) return null;
    const row = new Map(c.x.map((step, k) => [step, k]));
    const added = d.x.filter(step => !row.has(step));
    let x = c.x, values = c.series.map(s => s.values);
    if (added.length) {
      if (added[0] > c.x[c.x.length - 1] || !c.x.length) { // the usual case: later steps, appended
        x = c.x.concat(added);
        values = values.map(v => v.concat(added.map(() => null)));
      } else { // an earlier step: the rows are laid out again in step order
        x = c.x.concat(added).sort((a, b) => a - b);
        const at = new Map(x.map((step, k) => [step, k]));
        values = values.map(v => {
          const w = new Array(x.length).fill(null);
          v.forEach((value, k) => { w[at.get(c.x[k])] = value; });
          return w;
        });
      }
      row.clear();
      x.forEach((step, k) => row.set(step, k));
    } else {
      values = values.map(v => v.slice());
    }
    for (const s of d.series) {
      const v = values[labels.indexOf(s.label)];
      s.values.forEach((value, k) => { if (value !== null) v[row.get(d.x[k])] = value; });
    }
    merged[i] = {title: c.title, runs: c.runs, x: x, series: c.series.map((s, k) => ({label: s.label,
      values: values[k]}))};
  }
  return merged;
}

// Draws data's charts into container, replacing those drawn there before: the live page calls this every 2 s, and
// uPlot keeps each instance (in a module-wide set, with a media-query listener) until its destroy().
function renderCharts(data, container) {
  for (const u of container.plots || []) u.destroy();
  container.plots = [];
  container.replaceChildren();
  chartContainers.add(container);
  const width = chartWidth(container);
  for (const c of data.charts) {
    // the alerts and resumes of the runs the chart draws (c.runs): a loss chart holds one method's runs only
    const drawn = m => !c.runs || c.runs.includes(m.run);
    const marks = alertMarks({alerts: data.alerts.filter(drawn), runs: data.runs});
    const resumes = resumeMarks({resumes: (data.resumes || []).filter(drawn), runs: data.runs});
    const div = document.createElement("div");
    div.className = "chart";
    div.setAttribute("role", "figure");
    div.setAttribute("aria-label", c.title + ": " + c.series.map(s => s.label).join(", ") + " over steps " + c.x[0] +
      " to " + c.x[c.x.length - 1] + resumes.map(m => "; " + m.label).join(""));
    container.appendChild(div);
    const series = [{label: "step"}].concat(c.series.map((s, i) => ({
      label: s.label, stroke: seriesColour(i, c.series.length), width: 1.5, spanGaps: false,
      value: (u, v, si, idx) => legendValue(u, v, si, idx, s.values)})));
    const opts = {
      title: c.title, width: width, height: 260,
      // the step axis spans the run, not only this chart's samples (an analyser may have analysed only step 0):
      // charts line up and an alert after a chart's last sample is still drawn; a zoom sets its own range
      scales: {x: {time: false, range: (u, min, max) => {
        const lo = Math.min(min, 0), hi = Math.max(max, data.lastStep || 0);
        return [lo, hi > lo ? hi : lo + 1];
      }}},
      axes: [{label: "step"}, {size: 60, values: axisValues}],
      series: series,
      hooks: {draw: [u => {
        drawMarks(u, marks, ALERT_MARK, false);
        drawMarks(u, resumes, RESUME_MARK, true);
      }]}
    };
    container.plots.push(new uPlot(opts, [c.x].concat(c.series.map(s => plotValues(s.values))), div));
  }
}

// A range input over count steps, set to the last one; label names it for screen readers.
function stepSlider(count, label) {
  const slider = document.createElement("input");
  slider.type = "range";
  slider.setAttribute("aria-label", label);
  slider.min = 0;
  slider.max = count - 1;
  slider.value = count - 1;
  return slider;
}

// A note in place of a section's content when it has none.
function emptyNote(container, text) {
  const p = document.createElement("p");
  p.className = "empty";
  p.textContent = text;
  container.appendChild(p);
}

function renderTimelines(data, container) {
  container.replaceChildren();
  if (!data.timelines.length) {
    emptyNote(container, "No partition pictures: the regions analyzer did not run (settings.analyzers) or has " +
      "analysed no snapshot.");
  }
  for (const t of data.timelines) {
    const box = document.createElement("div");
    box.className = "timeline";
    const title = document.createElement("h3");
    title.textContent = t.run + ", plane " + t.plane + " (" + t.steps.length + " pictures)";
    box.appendChild(title);
    const row = document.createElement("div");
    row.className = "pictures";
    const img = (src, caption, step) => {
      const fig = document.createElement("figure");
      const i = document.createElement("img");
      i.src = src;
      i.alt = "partition of " + t.run + " plane " + t.plane + " at step " + step;
      const cap = document.createElement("figcaption");
      cap.textContent = caption;
      fig.appendChild(i);
      fig.appendChild(cap);
      row.appendChild(fig);
      return [i, cap];
    };
    const lastStep = t.steps[t.steps.length - 1];
    img(t.srcs[0], "first: step " + t.steps[0], t.steps[0]);
    const [sel, selCap] = img(t.srcs[t.srcs.length - 1], "", lastStep);
    img(t.srcs[t.srcs.length - 1], "last: step " + lastStep, lastStep);
    const slider = stepSlider(t.srcs.length, "picture of " + t.run + " plane " + t.plane + " to show");
    const show = () => {
      sel.src = t.srcs[slider.value];
      sel.alt = "partition of " + t.run + " plane " + t.plane + " at step " + t.steps[slider.value];
      slider.setAttribute("aria-valuetext", "step " + t.steps[slider.value]);
      selCap.textContent = "step " + t.steps[slider.value] + " (slider)";
    };
    slider.addEventListener("input", show);
    show();
    box.appendChild(row);
    box.appendChild(slider);
    container.appendChild(box);
  }
}

// Embedding views: per run and layer, the 2D PCA of the probe embeddings at each analysed step, one dot per probe
// coloured by its class, with a step slider (coordinates are pre-scaled to [-1, 1]).
const CLASS_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf"];
function drawEmbedding(canvas, view) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 8;
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, w, h);
  const xy = view.xy, labels = view.labels;
  for (let i = 0; i < labels.length; i++) {
    ctx.fillStyle = CLASS_COLOURS[labels[i] % CLASS_COLOURS.length];
    const x = pad + (xy[2 * i] + 1) / 2 * (w - 2 * pad);
    const y = h - pad - (xy[2 * i + 1] + 1) / 2 * (h - 2 * pad);
    ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
  }
}
function renderEmbeddings(data, container) {
  if (!container) return;
  container.textContent = "";
  const views = (data.embeddings || []).filter(e => e.steps.length);
  if (!views.length) {
    emptyNote(container, "No probe embeddings: the embedding analyzer did not run (settings.analyzers) or has " +
      "analysed no snapshot.");
  }
  for (const e of views) {
    const box = document.createElement("div");
    box.className = "embedding";
    box.dataset.run = e.run;
    box.dataset.layer = e.layer;
    const title = document.createElement("h3");
    title.textContent = e.run + " — layer " + e.layer;
    const canvas = document.createElement("canvas");
    canvas.width = 360;
    canvas.height = 360;
    const caption = document.createElement("div");
    canvas.setAttribute("role", "img");
    const slider = stepSlider(e.steps.length, "step of the " + e.run + " layer " + e.layer + " embeddings to show");
    const show = () => {
      const v = e.views[slider.value];
      drawEmbedding(canvas, v);
      canvas.setAttribute("aria-label", "2D PCA of the probe embeddings of layer " + e.layer + " at step " +
        e.steps[slider.value] + ", one dot per probe coloured by class");
      slider.setAttribute("aria-valuetext", "step " + e.steps[slider.value]);
      caption.textContent = "step " + e.steps[slider.value] + " (scale " + v.scale + ")";
    };
    slider.addEventListener("input", show);
    const legend = document.createElement("div");
    legend.className = "legend";
    const classes = Math.max(...e.views[0].labels) + 1;
    for (let c = 0; c < classes; c++) {
      const s = document.createElement("span");
      s.style.color = CLASS_COLOURS[c % CLASS_COLOURS.length];
      s.textContent = "● " + c + " ";
      legend.appendChild(s);
    }
    box.append(title, canvas, caption, slider, legend);
    container.appendChild(box);
    show();
  }
}
