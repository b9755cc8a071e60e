//! The evaluation as one self-contained HTML page: the figures, and charts drawn in the browser
//! from the data embedded in the page (no server, no network).

use crate::evaluate::Evaluation;

/// The HTML page for an evaluation; `title` names the run (command, seed).
pub fn html(evaluation: &Evaluation, title: &str) -> String {
    let data = serde_json::to_string(evaluation).expect("the evaluation serializes");
    // `</` cannot end the script early once escaped.
    let data = data.replace("</", "<\\/");
    let title = title.replace('&', "&amp;").replace('<', "&lt;");
    TEMPLATE.replace("{{TITLE}}", &title).replace("{{DATA}}", &data)
}

const TEMPLATE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>creditline evaluation — {{TITLE}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:2em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
svg{background:#fafafa;border:1px solid #ddd}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
</style></head><body>
<h1>creditline evaluation — {{TITLE}}</h1>
<p id="summary"></p>
<h2>Precision and recall per typology</h2>
<svg id="per-typology" class="chart" width="760" height="260"></svg>
<div class="legend"><span style="background:#2b7bb9"></span>precision<span style="background:#e07b39"></span>recall</div>
<table id="labels"><thead><tr><th>label</th><th>tp</th><th>fp</th><th>fn</th><th>precision</th><th>recall</th><th>f1</th></tr></thead><tbody></tbody></table>
<h2>Decisions over time</h2>
<svg id="over-time" class="chart" width="760" height="220"></svg>
<div class="legend"><span style="background:#f2c14e"></span>challenge<span style="background:#e07b39"></span>review<span style="background:#c0392b"></span>deny</div>
<h2>Top rules by hits</h2>
<svg id="rules-hits" class="chart" width="760" height="260"></svg>
<h2>Top rules by false positives</h2>
<svg id="rules-fp" class="chart" width="760" height="260"></svg>
<script id="data" type="application/json">{{DATA}}</script>
<script>
const data = JSON.parse(document.getElementById('data').textContent);
const NS = 'http://www.w3.org/2000/svg';
function el(name, attrs, parent, text) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  parent.appendChild(node);
  return node;
}
function bars(id, rows, series, colors, max) {
  const svg = document.getElementById(id);
  const width = +svg.getAttribute('width'), height = +svg.getAttribute('height');
  const left = 40, bottom = 60, plot = height - bottom - 10;
  const group = (width - left) / Math.max(rows.length, 1);
  const top = max || Math.max(1, ...rows.flatMap(row => series.map(key => row[key])));
  el('line', {x1: left, y1: 10 + plot, x2: width, y2: 10 + plot, stroke: '#888'}, svg);
  el('text', {x: 2, y: 16, 'font-size': 10}, svg, String(Math.round(top * 100) / 100));
  rows.forEach((row, index) => {
    series.forEach((key, offset) => {
      const value = row[key] ?? 0, barHeight = plot * value / top;
      const barWidth = Math.max(1, group * 0.8 / series.length);
      el('rect', {class: 'bar', x: left + index * group + offset * barWidth, y: 10 + plot - barHeight,
        width: barWidth, height: barHeight, fill: colors[offset], 'data-value': value}, svg);
    });
    if (row.name !== undefined && rows.length <= 40) {
      el('text', {x: left + index * group, y: height - bottom + 24, 'font-size': 10,
        transform: `rotate(20 ${left + index * group} ${height - bottom + 24})`}, svg, row.name);
    }
  });
}
const pct = value => value === null ? '—' : (100 * value).toFixed(1) + ' %';
const fixed = value => value === null ? '—' : value.toFixed(3);
document.getElementById('summary').textContent =
  `${data.events.toLocaleString()} events at ${Math.round(data.events_per_sec).toLocaleString()} events/s; ` +
  `overall precision ${pct(data.overall.precision)}, recall ${pct(data.overall.recall)}, F1 ${fixed(data.overall.f1)}; ` +
  `honest users with friction ${pct(data.honest_friction_share)} (${data.honest_users_with_friction} of ${data.honest_users}; ` +
  `never abusing ${pct(data.pure_honest_friction_share)}, takeover victims ${pct(data.victim_friction_share)} of ${data.victims}); ` +
  `money stopped ${(data.caught_minor / 100).toLocaleString()} of ${(data.positive_minor / 100).toLocaleString()} CNY.`;
const labels = Object.entries(data.labels).map(([name, score]) => ({name, ...score}));
bars('per-typology', labels, ['precision', 'recall'], ['#2b7bb9', '#e07b39'], 1);
const body = document.querySelector('#labels tbody');
for (const row of [...labels, {name: 'overall', ...data.overall}]) {
  const tr = document.createElement('tr');
  body.appendChild(tr);
  for (const value of [row.name, row.tp, row.fp, row.fn, pct(row.precision), pct(row.recall), fixed(row.f1)]) {
    const td = document.createElement('td'); td.textContent = value; tr.appendChild(td);
  }
}
bars('over-time', data.days, ['challenge', 'review', 'deny'], ['#f2c14e', '#e07b39', '#c0392b']);
// `top` is taken in a browser (window.top): the helper needs its own name.
const topRules = key => [...data.rules].sort((a, b) => b[key] - a[key]).slice(0, 12).map(rule => ({name: rule.rule, value: rule[key]}));
bars('rules-hits', topRules('hits'), ['value'], ['#2b7bb9']);
bars('rules-fp', topRules('false_positives'), ['value'], ['#c0392b']);
document.body.setAttribute('data-rendered', document.querySelectorAll('rect.bar').length);
</script></body></html>
"##;
