// Runs the transformations of a dashboard's panels through @grafana/data's own implementation (transformDataFrame
// with @grafana/data's standardTransformers registered, as Grafana's frontend registers them) on data frames built
// from recorded Prometheus range-query responses, then checks each result as Grafana's trend panel reads it, and
// prints the resulting frames as JSON.
//
// Usage: node compare-by-step.cjs DATA_PACKAGE DASHBOARD.json RESPONSES.json
//   DATA_PACKAGE: @grafana/data, or an npm alias of another version of it (package.json)
//   RESPONSES.json: { "<panel title>": { "<refId>": <body of GET /api/v1/query_range>, ... }, ... }
// Output: { "<panel title>": { "frames": [ { "fields": [ { name, displayName, type, values } ] } ],
//                              "trend": { "xField": index or -1, "ascending": bool, "warning": string|null } } }
//
// Grafana's code here: every transformation, the field matchers and display names, isLikelyAscendingVector.
// Not Grafana's code: toTableFrames() below. Grafana turns a Prometheus response into frames in its server (Go) and,
// for format "table", in the Prometheus plugin (transformDFToTable); neither is published under Apache-2.0, so this
// builds the shape they produce: per query one frame [Time, <labels sorted by name>, "Value" or "Value #<refId>"
// when the panel has more than one query], rows series by series. The trend panel's own checks (Grafana application
// code) are restated in trendCheck() from its source: one frame, the x field found by name, x ascending.
'use strict';
// @grafana/data reads window.grafanaBootData when it is loaded (it is written for a browser): an empty window object
// means "no boot data" (no feature toggles on), as in a browser page without Grafana's boot script.
globalThis.window = globalThis.window || {};
const fs = require('fs');

function toTableFrames(gd, responses) {
  const refIds = Object.keys(responses).sort();
  return refIds.map((refId) => {
    const body = responses[refId];
    if (body.status !== 'success' || body.data.resultType !== 'matrix') {
      throw new Error(`query ${refId}: expected a successful matrix response, got `
        + JSON.stringify(body).slice(0, 200));
    }
    const series = body.data.result;
    const labelNames = [...new Set(series.flatMap((s) => Object.keys(s.metric)))].sort();
    const time = [];
    const value = [];
    const labels = labelNames.map(() => []);
    for (const s of series) {
      for (const [t, v] of s.values) {
        time.push(Math.round(t * 1000));
        value.push(parseFloat(v));
        labelNames.forEach((l, i) => labels[i].push(s.metric[l] ?? ''));
      }
    }
    return gd.createDataFrame({
      refId,
      fields: [
        { name: 'Time', type: gd.FieldType.time, values: time },
        ...labelNames.map((l, i) => ({ name: l, type: gd.FieldType.string, values: labels[i],
          config: { filterable: true } })),
        { name: refIds.length > 1 ? `Value #${refId}` : 'Value', type: gd.FieldType.number, values: value },
      ],
    });
  });
}

/** What Grafana's trend panel checks before it draws: one frame; options.xField found by name; x ascending. */
function trendCheck(gd, panel, frames) {
  if (frames.length !== 1) {
    return { xField: -1, ascending: false, warning: `${frames.length} frames (the trend panel draws one)` };
  }
  const frame = frames[0];
  const byName = gd.fieldMatchers.get(gd.FieldMatcherID.byName).get(panel.options?.xField);
  const x = panel.options?.xField ? frame.fields.findIndex((f) => byName(f, frame, frames))
    : frame.fields.findIndex((f) => f.type === gd.FieldType.number);
  if (x < 0) {
    return { xField: -1, ascending: false, warning: `no x field ${panel.options?.xField}` };
  }
  const field = frame.fields[x];
  const ascending = field.type === gd.FieldType.number && gd.isLikelyAscendingVector(field.values);
  return { xField: x, ascending, warning: ascending ? null : 'x values are not numbers in ascending order' };
}

function dump(gd, frames) {
  return frames.map((fr) => ({
    fields: fr.fields.map((f) => ({ name: f.name, displayName: gd.getFieldDisplayName(f, fr, frames), type: f.type,
      values: Array.from(f.values, (v) => (v === undefined ? null : v)) })),
  }));
}

async function main([dataPackage, dashboardFile, responsesFile]) {
  const gd = require(dataPackage);
  // standardTransformers lists joinByField twice (also under its old name seriesToColumns): register each once
  gd.standardTransformersRegistry.setInit(() => [...new Set(Object.values(gd.standardTransformers))]
    .map((t) => ({ id: t.id, aliasIds: t.aliasIds, name: t.name, description: t.description, transformation: t })));
  const dashboard = JSON.parse(fs.readFileSync(dashboardFile, 'utf8'));
  const responses = JSON.parse(fs.readFileSync(responsesFile, 'utf8'));
  const panels = (dashboard.panels ?? []).flatMap((p) => (p.type === 'row' ? [p, ...(p.panels ?? [])] : [p]));
  const out = {};
  for (const [title, byRefId] of Object.entries(responses)) {
    const panel = panels.find((p) => p.title === title);
    if (!panel) {
      throw new Error(`no panel titled "${title}" in ${dashboardFile}`);
    }
    // transformDataFrame passes data through a transformation it does not know: refuse that instead
    for (const t of panel.transformations ?? []) {
      if (!gd.standardTransformersRegistry.getIfExists(t.id)) {
        throw new Error(`panel "${title}": transformation ${t.id} is not in ${dataPackage}`);
      }
    }
    const frames = await new Promise((resolve, reject) => gd.transformDataFrame(panel.transformations ?? [],
      toTableFrames(gd, byRefId)).subscribe({ next: resolve, error: reject }));
    out[title] = { frames: dump(gd, frames), trend: trendCheck(gd, panel, frames) };
  }
  process.stdout.write(JSON.stringify(out));
}

main(process.argv.slice(2)).catch((e) => {
  console.error(String((e && e.stack) || e));
  process.exitCode = 1;
});
