// Type-checks Grafana dashboard JSON files against @grafana/schema (Grafana's published, Apache-2.0 TypeScript types
// of the dashboard model and of each core panel's options) with the TypeScript compiler. Each dashboard becomes a .ts
// file of typed object literals, so TypeScript's excess-property check rejects unknown keys and its type check wrong
// value types or enum values. Prints one line per error and exits 1 when there is one; exits 0 when every file
// passes, printing what was checked.
// Usage: node check-dashboards.cjs SCHEMA_PACKAGE OUTDIR FILE.json...
//   SCHEMA_PACKAGE: @grafana/schema, or an npm alias of another version of it (package.json).
'use strict';
const fs = require('fs');
const path = require('path');
const ts = require('typescript');

const SCHEMA = process.argv[2];
if (!SCHEMA) {
  console.error('usage: node check-dashboards.cjs SCHEMA_PACKAGE OUTDIR FILE.json...');
  process.exit(2);
}
const SCHEMA_VERSION = require(SCHEMA + '/package.json').version;
// Core panels whose options and custom field config @grafana/schema types (panelcfg). A panel of another type fails.
const PANEL_TYPES = {
  timeseries: 'timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen',
  trend: 'trend/panelcfg/x/TrendPanelCfg_types.gen',
  stat: 'stat/panelcfg/x/StatPanelCfg_types.gen',
  table: 'table/panelcfg/x/TablePanelCfg_types.gen',
  text: 'text/panelcfg/x/TextPanelCfg_types.gen',
  xychart: 'xychart/panelcfg/x/XYChartPanelCfg_types.gen',
  barchart: 'barchart/panelcfg/x/BarChartPanelCfg_types.gen',
  gauge: 'gauge/panelcfg/x/GaugePanelCfg_types.gen',
  bargauge: 'bargauge/panelcfg/x/BarGaugePanelCfg_types.gen',
};

// Keys that @grafana/schema gives a default (its default* constants): Grafana fills them in, so a file may leave them
// out although the generated TypeScript types mark them required.
const LINK_DEFAULTS = Object.keys(require(SCHEMA).defaultDashboardLink).map((k) => `'${k}'`).join(' | ') || 'never';

const PRELUDE = `
import type { Dashboard, Panel, RowPanel, FieldConfigSource, FieldConfig, DataQuery, DashboardLink, VariableModel,
  VariableOption, AnnotationQuery } from '${SCHEMA}';
// JSON has string literals where the schema has string enums: map every string enum to the union of its values.
type L<T> = T extends string ? \`\${T}\` : T extends number | boolean | null | undefined ? T
  : T extends Array<infer U> ? Array<L<U>> : T extends object ? { [K in keyof T]: L<T[K]> } : T;
// Grafana fills panel options and custom field config from the panel's defaults, so each key may be left out; the
// keys given must exist and have the schema's type.
type DP<T> = T extends Array<infer U> ? Array<DP<U>> : T extends object ? { [K in keyof T]?: DP<T[K]> } : T;
type WithDefaults<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;
// Grafana's export format around a dashboard (Dashboards > Export > "Export for sharing externally"): not part of the
// dashboard schema itself, declared here as Grafana's import reads it.
interface ExportEnvelope {
  __inputs?: Array<{ name: string; label: string; description?: string; type: 'datasource'; pluginId: string;
    pluginName: string }>;
  __requires?: Array<{ type: 'grafana' | 'panel' | 'datasource'; id: string; name: string; version: string }>;
  __elements?: Record<string, unknown>;
}
// Grafana's exporter writes query variables with "current": {} (the value is chosen on import), and Grafana saves a
// query variable's "definition" (@grafana/data's QueryVariableModel), which this schema version does not list.
type Variable = Omit<L<VariableModel>, 'current'> & { current?: L<VariableOption> | Record<string, never>;
  definition?: string };
// The datasource-specific part of an annotation (for Prometheus: expr, step, titleFormat, ...) has no type in
// @grafana/schema (the Prometheus plugin's types are not Apache-2.0): the schema's keys are checked, others allowed.
type Annotation = L<AnnotationQuery> & Record<string, unknown>;
type DashboardWithoutPanels = Omit<L<Dashboard>, 'panels' | 'links' | 'templating' | 'annotations'> & ExportEnvelope & {
  panels: unknown[];
  links?: Array<WithDefaults<L<DashboardLink>, ${LINK_DEFAULTS}>>;
  templating?: { list?: Variable[] };
  annotations?: { list?: Annotation[] };
};
// @grafana/schema has no Prometheus query type either: a target is checked as the common DataQuery (refId,
// datasource, hide, queryType, key) plus the query model's own keys.
type Target = L<DataQuery> & Record<string, unknown>;
type TypedPanel<O, C> = Omit<L<Panel>, 'options' | 'fieldConfig' | 'targets'> & {
  targets?: Target[];
  options?: DP<L<O>>;
  fieldConfig?: Omit<L<FieldConfigSource>, 'defaults'> & {
    defaults: Omit<L<FieldConfig>, 'custom'> & { custom?: DP<L<C>> };
  };
};
type Row = Omit<L<RowPanel>, 'panels'> & { panels: unknown[] };
`;

/** Whether the panel's panelcfg declares a custom field config (stat and text have none). */
function hasFieldConfig(type) {
  const dts = path.join(path.dirname(require.resolve(SCHEMA + '/package.json')), 'dist/esm/raw/composable',
    PANEL_TYPES[type] + '.d.ts');
  return /export interface FieldConfig\b/.test(fs.readFileSync(dts, 'utf8'));
}

function main(argv) {
  const [outDir, ...files] = argv;
  if (!outDir || files.length === 0) {
    console.error('usage: node check-dashboards.cjs SCHEMA_PACKAGE OUTDIR FILE.json...');
    return 2;
  }
  fs.mkdirSync(outDir, { recursive: true });
  const generated = [];
  const origin = {}; // generated file -> { line -> description }
  const problems = [];
  let panelsChecked = 0;
  files.forEach((file, n) => {
    let dash;
    try {
      dash = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      problems.push(`${file}: not JSON: ${e.message}`);
      return;
    }
    const lines = [PRELUDE];
    const names = { dashboard: 'dashboard' }; // declared constant -> what it holds, for the error messages
    const imports = new Set();
    const emit = (what, decl) => {
      names[/^const (\w+):/.exec(decl)[1]] = what;
      lines.push(decl);
    };
    const { panels = [], ...rest } = dash;
    const top = JSON.stringify({ ...rest, panels: [] }, null, 1);
    emit('dashboard', `const dashboard: DashboardWithoutPanels = ${top};`);
    const all = [];
    panels.forEach((p) => {
      all.push(p);
      if (p && p.type === 'row' && Array.isArray(p.panels)) {
        all.push(...p.panels); // the panels of a collapsed row
      }
    });
    all.forEach((p, i) => {
      const title = `panel ${p && p.id} "${p && p.title}" (${p && p.type})`;
      if (p && p.type === 'row') {
        // a row's own panels are checked as panels (above); the row must still have the key
        const row = { ...p, panels: Array.isArray(p.panels) ? [] : p.panels };
        emit(title, `const panel${i}: Row = ${JSON.stringify(row, null, 1)};`);
      } else if (p && PANEL_TYPES[p.type]) {
        const alias = `P_${p.type}`;
        if (!imports.has(alias)) {
          imports.add(alias);
          const module = `${SCHEMA}/dist/esm/raw/composable/${PANEL_TYPES[p.type]}`;
          lines.splice(1, 0, `import type * as ${alias} from '${module}';`);
        }
        const custom = hasFieldConfig(p.type) ? `${alias}.FieldConfig` : 'Record<string, unknown>';
        emit(title, `const panel${i}: TypedPanel<${alias}.Options, ${custom}> = ${JSON.stringify(p, null, 1)};`);
      } else {
        problems.push(`${file}: ${title}: panel type without an @grafana/schema panelcfg here (one of: row, `
          + `${Object.keys(PANEL_TYPES).join(', ')})`);
        return;
      }
      panelsChecked++;
    });
    lines.push('export {};');
    // the line of each declaration in the file (1-based) -> what it holds
    const text = lines.join('\n');
    const declared = {};
    text.split('\n').forEach((l, k) => {
      const m = /^const (\w+):/.exec(l);
      if (m) {
        declared[k + 1] = names[m[1]];
      }
    });
    const out = path.join(outDir, `dashboard${n}.ts`);
    fs.writeFileSync(out, text);
    generated.push(out);
    origin[path.resolve(out)] = { file, lines: declared };
  });
  const program = ts.createProgram(generated, {
    strict: true, noEmit: true, skipLibCheck: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10, types: [], baseUrl: __dirname,
    paths: { [SCHEMA]: [path.dirname(require.resolve(SCHEMA + '/package.json'))],
      [SCHEMA + '/*']: [path.dirname(require.resolve(SCHEMA + '/package.json')) + '/*'] },
    typeRoots: [], lib: ['lib.es2020.d.ts'],
  });
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const msg = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (!d.file) {
      problems.push(`typescript: ${msg}`);
      continue;
    }
    const o = origin[path.resolve(d.file.fileName)];
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    if (!o) {
      problems.push(`${d.file.fileName}:${line + 1}: ${msg}`);
      continue;
    }
    // the declaration the error is in: the nearest 'const' line at or above it
    let decl = 'dashboard';
    for (const [l, what] of Object.entries(o.lines)) {
      if (Number(l) <= line + 1) {
        decl = what;
      }
    }
    const snippet = d.file.text.split('\n')[line].trim().slice(0, 80);
    problems.push(`${o.file}: ${decl}: ${msg} [at: ${snippet}]`);
  }
  problems.forEach((p) => console.log('ERROR ' + p));
  if (problems.length) {
    return 1;
  }
  console.log(`OK ${files.length} dashboards, ${panelsChecked} panels match @grafana/schema ${SCHEMA_VERSION}`);
  return 0;
}

process.exitCode = main(process.argv.slice(3));
