/**
 * The media report as one self-contained HTML page: it opens offline and requests nothing (its Content Security
 * Policy forbids any fetch, and Chart.js is inlined). Every number on it comes from the embedded report object,
 * the same one `--json` prints: the tables are rendered from it here, the charts from it in the page.
 */
import { describeSource, formatEscalation, outcomeText, Report, STORE_OUTCOMES } from './build';

export interface PageOptions {
  /** Chart.js's UMD build, inlined as it is */
  chartJs: string;
  /** when the page was made, shown in its footer */
  generatedAt: string;
}

const escapeHtml = (value: unknown): string =>
  String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** Inside a <script> element only `</script` (and `<!--`) can end or confuse it; JSON gets `<` escaped. */
const inScript = (code: string) => code.replace(/<\/script/gi, '<\\/script').replace(/<!--/g, '<\\!--');
const jsonInScript = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const ms = (v: number | null) => (v === null ? '-' : String(v));

const STYLE = `
:root { color-scheme: light; --ink: #1d2433; --muted: #5b6478; --line: #d9dde6; --warn: #b42318; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 20px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 4px 0; }
.muted { color: var(--muted); }
.note { color: var(--warn); }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
.charts .wide { grid-column: 1 / -1; }
@media (max-width: 900px) { .charts { grid-template-columns: 1fr; } }
/* min-width 0: a canvas would otherwise hold its grid track at the width it was first drawn at */
figure { min-width: 0; margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 12px; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: 8px; }
figure .sub { font-weight: 400; color: var(--muted); font-size: 12px; }
.chart { position: relative; height: 280px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
table.escalation { font-size: 12px; }
table.escalation td.text, table.escalation td.url { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
td.url { text-align: left; white-space: normal; word-break: break-all; min-width: 260px; }
td.wrap { white-space: normal; min-width: 90px; }
tr.escalate td { background: #fdecea; }
button { font: inherit; padding: 4px 12px; border: 1px solid #8a93a6; border-radius: 4px; background: #f4f6fa; cursor: pointer; }
#copy-status { margin-left: 8px; color: var(--muted); }
footer { margin-top: 32px; font-size: 12px; color: var(--muted); }
@media print {
  main { max-width: none; padding: 0; }
  button, #copy-status { display: none; }
  .charts { grid-template-columns: 1fr 1fr; }
  .scroll { overflow: visible; }
  table { font-size: 10px; }
  th, td { padding: 2px 4px; white-space: normal; }
  table.escalation { font-size: 8px; }
  .chart { height: 220px; }
  td.url { min-width: 0; }
  h2 { break-after: avoid; }
  tr { break-inside: avoid; }
}
`;

/** Draws the charts from the embedded report; plain ES2017 so it runs as written in any current browser. */
const PAGE_SCRIPT = `
(function () {
  'use strict';
  var report = JSON.parse(document.getElementById('report-json').textContent);
  var days = report.days.map(function (d) { return d.day; });
  var charts = [];
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, sans-serif';

  var dayCanvas = document.getElementById('chart-days');
  if (dayCanvas) {
    charts.push(new Chart(dayCanvas, {
      data: {
        labels: days,
        datasets: [
          { type: 'bar', label: 'fetches', data: report.days.map(function (d) { return d.fetches; }), backgroundColor: '#9db4d6' },
          { type: 'bar', label: 'met a 404', data: report.days.map(function (d) { return d.with404; }),
            backgroundColor: report.days.map(function (d) { return d.escalate ? '#d92d20' : '#f79009'; }) },
          { type: 'bar', label: 'gave up', data: report.days.map(function (d) { return d.gaveUp; }), backgroundColor: '#5b2333' },
          { type: 'line', label: 'escalation threshold (' + report.threshold + ')', data: report.days.map(function () { return report.threshold; }),
            borderColor: '#d92d20', borderDash: [6, 4], borderWidth: 2, pointRadius: 0, fill: false }
        ]
      },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: 'media fetches' } } } }
    }));
  }

  var delayCanvas = document.getElementById('chart-delay');
  if (delayCanvas) {
    var bins = report.delay.bins;
    var marks = [['p50', report.delay.p50Ms, '#027a48'], ['p95', report.delay.p95Ms, '#b54708'], ['p99', report.delay.p99Ms, '#b42318']];
    // Chart.js has no built-in vertical marker; this plugin draws one per percentile at its place within its bin
    var percentileLines = {
      id: 'percentileLines',
      afterDatasetsDraw: function (chart) {
        var x = chart.scales.x, area = chart.chartArea, ctx = chart.ctx;
        var width = bins.length > 1 ? x.getPixelForValue(1) - x.getPixelForValue(0) : area.right - area.left;
        marks.forEach(function (mark, n) {
          if (mark[1] === null) return;
          var i = bins.findIndex(function (b) { return mark[1] < b.toMs; });
          if (i < 0) i = bins.length - 1;
          var b = bins[i];
          var frac = Math.min(1, (mark[1] - b.fromMs) / (b.toMs - b.fromMs));
          var px = x.getPixelForValue(i) - width / 2 + width * frac;
          ctx.save();
          ctx.strokeStyle = mark[2]; ctx.fillStyle = mark[2]; ctx.lineWidth = 2; ctx.setLineDash([5, 3]);
          ctx.beginPath(); ctx.moveTo(px, area.top); ctx.lineTo(px, area.bottom); ctx.stroke();
          ctx.setLineDash([]); ctx.font = '600 12px system-ui, sans-serif'; ctx.textAlign = 'left';
          ctx.fillText(mark[0] + ' ' + mark[1] + ' ms', Math.min(px + 4, area.right - 90), area.top + 14 + n * 15);
          ctx.restore();
        });
      }
    };
    charts.push(new Chart(delayCanvas, {
      type: 'bar',
      data: {
        labels: bins.map(function (b, i) { return i === bins.length - 1 ? '≥ ' + b.fromMs : b.fromMs + '–' + b.toMs; }),
        datasets: [{ label: 'fetches that succeeded', data: bins.map(function (b) { return b.count; }), backgroundColor: '#6b8fc7',
          barPercentage: 1, categoryPercentage: 0.96 }]
      },
      options: {
        plugins: { legend: { display: false } },
        scales: { x: { title: { display: true, text: 'delay from webhook to media (ms)' } },
                  y: { beginAtZero: true, title: { display: true, text: 'fetches' } } }
      },
      plugins: [percentileLines]
    }));
  }

  var storeCanvas = document.getElementById('chart-store');
  if (storeCanvas) {
    var colours = { stored: '#12b76a', already_stored: '#a6d4b9', store_failed: '#d92d20', conflict: '#f79009', deleted: '#6b8fc7', delete_failed: '#5b2333' };
    charts.push(new Chart(storeCanvas, {
      type: 'bar',
      data: {
        labels: days,
        datasets: ${JSON.stringify(STORE_OUTCOMES)}.map(function (o) {
          return { label: o.replace('_', ' '), data: report.days.map(function (d) { return d.store[o]; }), backgroundColor: colours[o], stack: o.indexOf('delete') === 0 ? 'delete' : 'store' };
        })
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'media items' } } } }
    }));
  }

  window.addEventListener('beforeprint', function () { charts.forEach(function (c) { c.resize(); }); });

  var button = document.getElementById('copy-escalation');
  if (button) {
    button.addEventListener('click', function () {
      var text = document.getElementById('escalation-text').textContent;
      var status = document.getElementById('copy-status');
      var done = function () { status.textContent = 'Copied ' + text.split('\\n').length + ' lines.'; button.dataset.copied = 'true'; };
      // the clipboard API needs a permission some browsers refuse to file:// pages: fall back to a selection
      var fallback = function () {
        var area = document.createElement('textarea');
        area.value = text; document.body.appendChild(area); area.select();
        var ok = document.execCommand('copy'); document.body.removeChild(area);
        if (ok) done(); else status.textContent = 'Copy refused by the browser: select the table instead.';
      };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fallback);
      else fallback();
    });
  }
  document.documentElement.dataset.charts = String(charts.length);
})();
`;

function daysTable(report: Report): string {
  const head = [
    'day',
    'fetches',
    'messages',
    'met a 404',
    '404 then success',
    '404 responses',
    'retries',
    'gave up',
    'p50 ms',
    'p95 ms',
    'p99 ms',
    'escalate',
  ];
  const rows = report.days.map((d) => {
    const cells = [
      d.day,
      d.fetches,
      d.messages,
      d.with404,
      d.transient404,
      d.notFoundResponses,
      d.retries,
      d.gaveUp,
      ms(d.p50DelayMs),
      ms(d.p95DelayMs),
      ms(d.p99DelayMs),
      d.escalate ? 'yes' : 'no',
    ];
    return `<tr${d.escalate ? ' class="escalate"' : ''} data-day="${escapeHtml(d.day)}">${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
  });
  return `<div class="scroll"><table id="days-table"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function storeTable(report: Report, of: 'store' | 'recordings' = 'store'): string {
  const rows = report.days
    .filter((d) => STORE_OUTCOMES.some((o) => (d[of]?.[o] ?? 0) > 0))
    .map(
      (d) =>
        `<tr data-day="${escapeHtml(d.day)}"><td>${escapeHtml(d.day)}</td>${STORE_OUTCOMES.map((o) => `<td>${d[of][o]}</td>`).join('')}</tr>`,
    );
  if (!rows.length)
    return of === 'store'
      ? '<p class="muted">No media_store lines in this range: inbound media is not being stored.</p>'
      : '<p class="muted">No recording_store lines in this range: recordings are not being kept.</p>';
  return `<div class="scroll"><table id="${of === 'store' ? 'store-table' : 'recordings-table'}"><thead><tr><th>day</th>${STORE_OUTCOMES.map((o) => `<th>${o.replace('_', ' ')}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function escalationSection(report: Report): string {
  const escalated = report.days.filter((d) => d.escalate);
  if (!escalated.length) {
    return `<h2>Escalation</h2><p class="muted">No day reached the threshold of ${report.threshold} fetches meeting a 404.</p>`;
  }
  const tables = escalated.map((d) => {
    const rows = d.incidents.map((r) => {
      const cells = [
        ['text', r.messageSid ?? '-'],
        ['url', r.mediaUrl],
        ['text', r.webhookReceivedAt],
        ['text', r.endedAt],
        ['', r.delayMs],
        ['text wrap', outcomeText(r)],
        ['', r.notFoundCount],
        ['', r.attemptCount],
      ] as const;
      return `<tr>${cells.map(([cls, v]) => `<td${cls ? ` class="${cls}"` : ''}>${escapeHtml(v)}</td>`).join('')}</tr>`;
    });
    return `<h3>${escapeHtml(d.day)}: ${d.with404} fetches met a 404 (${d.transient404} succeeded later, ${d.gaveUp} gave up)</h3>
<div class="scroll"><table class="escalation" data-day="${escapeHtml(d.day)}"><thead><tr><th class="text">Message SID</th><th class="text">media URL</th><th class="text">webhook received</th><th class="text">ended</th><th>delay ms</th><th class="text">outcome</th><th>404s</th><th>attempts</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
  });
  return `<h2>Escalation for Twilio Support</h2>
<p>Days with at least ${report.threshold} fetches meeting a 404: each media URL, Message SID and timestamp with its offset (the copied text also has each first attempt's time).
<button type="button" id="copy-escalation">Copy as text for a support ticket</button><span id="copy-status" role="status"></span></p>
${tables.join('\n')}
<pre id="escalation-text" hidden>${escapeHtml(formatEscalation(report))}</pre>`;
}

export function renderReportPage(report: Report, options: PageOptions): string {
  const source = describeSource(report.source).map((line) =>
    line.startsWith('Note: ') ? `<p class="note">${escapeHtml(line)}</p>` : `<p class="muted">${escapeHtml(line)}</p>`,
  );
  const hasDays = report.days.length > 0;
  const hasDelays = report.delay.bins.length > 0;
  const charts = hasDays
    ? `<div class="charts">
<figure class="wide"><figcaption>Fetches per day <span class="sub">bars: fetches, those that met a 404 (red on days over the threshold), given up; dashed line: the escalation threshold</span></figcaption><div class="chart"><canvas id="chart-days" role="img" aria-label="fetches per day"></canvas></div></figure>
${hasDelays ? '<figure><figcaption>Delay from webhook to media <span class="sub">fetches that succeeded, all days; dashed lines: p50, p95, p99</span></figcaption><div class="chart"><canvas id="chart-delay" role="img" aria-label="delay distribution"></canvas></div></figure>' : ''}
<figure><figcaption>Media store outcomes per day <span class="sub">the inbound webhook's media_store lines</span></figcaption><div class="chart"><canvas id="chart-store" role="img" aria-label="media store outcomes per day"></canvas></div></figure>
</div>`
    : '<p class="muted">No media_fetch or media_store lines in this range.</p>';
  const skipped = [
    report.recordingFetches
      ? `${report.recordingFetches} media_fetch line(s) of recordings are not message media and were left out.`
      : '',
    report.skippedLines ? `${report.skippedLines} line(s) could not be read and were skipped.` : '',
  ].filter(Boolean);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<link rel="icon" href="data:,">
<title>Inbound media report</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>Inbound media report</h1>
${source.join('\n')}
<p>Escalation threshold: ${report.threshold} fetches meeting a 404 in one day.</p>
${charts}
<h2>Per day</h2>
${hasDays ? daysTable(report) : '<p class="muted">No days.</p>'}
<h2>Media store outcomes</h2>
${storeTable(report)}
<h2>Recording outcomes</h2>
${storeTable(report, 'recordings')}
${escalationSection(report)}
${skipped.map((s) => `<p class="muted">${escapeHtml(s)}</p>`).join('\n')}
<footer>Made by npm run media:report at ${escapeHtml(options.generatedAt)}. The numbers are those of <code>--json</code>, embedded below.</footer>
</main>
<script type="application/json" id="report-json">${jsonInScript(report)}</script>
<script>${inScript(options.chartJs)}</script>
<script>${inScript(PAGE_SCRIPT)}</script>
</body>
</html>
`;
}
