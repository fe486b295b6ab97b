// Draws an EvalMesh run report from its data: embedded in the page (the offline file), or fetched from the silo
// while the run is going (the live page, whose body names the data's URL in data-live and the run's status URL in
// data-status). The status is cheap and refreshes the progress every second; the data is built from every stored
// result, so it is fetched again only every few seconds (never more often than four times its own fetch time) and
// once more when the run ends.
(function () {
  'use strict';
  const live = document.body.dataset.live;
  const statusUrl = document.body.dataset.status;
  const charts = {};
  const shownCells = 200;
  let data = null;
  let selectedCell = null;

  const $ = id => document.getElementById(id);
  const percent = x => (x * 100).toFixed(1) + '%';
  const fixed = (x, digits) => x == null ? '–' : Number(x).toFixed(digits);
  const count = x => Number(x).toLocaleString('en-US');
  const palette = ['#5470c6', '#91cc75', '#fac858', '#ee6666', '#73c0de', '#3ba272', '#fc8452', '#9a60b4', '#ea7ccc'];
  const money = x => x == null ? '–' : String(Number(Number(x).toFixed(6)));
  const escape = text => String(text ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const distinct = values => [...new Set(values)];
  const scored = row => row.passed + row.failed;
  const accuracyText = row => scored(row) === 0 ? '–' : percent(row.accuracy);
  const points = x => (x > 0 ? '+' : '') + (x * 100).toFixed(1);
  const intervalName = row => row.interval === 'clustered' ? `clustered by case, ${fixed(row.effectiveCases, 0)} effective cases` : 'Wilson over cases';
  const standingText = { best: 'most accurate', nonInferior: 'within the margin', inferior: 'worse by more than the margin', undecided: 'undecided', notCheaper: 'not cheaper' };
  const tokenizers = report => distinct(report.rows.flatMap(r => Object.keys(r.meanPromptTokens))).sort();

  function chart(id) {
    if (!charts[id]) {
      charts[id] = echarts.init($(id), null, { renderer: 'canvas' });
      window.addEventListener('resize', () => charts[id].resize());
    }
    return charts[id];
  }

  function table(id, head, rows) {
    $(id).innerHTML = '<thead><tr>' + head.map(h => `<th class="${h.num ? 'num' : ''}">${escape(h.label)}</th>`).join('') + '</tr></thead><tbody>'
      + rows.map(r => '<tr>' + r.map((cell, i) => `<td class="${head[i].num ? 'num' : ''} ${cell.cls || ''}" data-key="${escape(head[i].key || '')}">${escape(cell.text ?? cell)}</td>`).join('') + '</tr>').join('')
      + '</tbody>';
  }

  // The run's cost, from the last report (the status alone does not carry it).
  let cost = null;

  function header(run) {
    document.title = `EvalMesh run ${run.runId}`;
    $('title').textContent = `EvalMesh run ${run.runId}`;
    $('description').textContent = run.description || '';
    const done = run.total === 0 ? 0 : run.completed / run.total;
    $('progress-bar').style.width = (done * 100).toFixed(1) + '%';
    $('progress').textContent = `${run.state}: ${count(run.completed)} of ${count(run.total)} cells` + (run.message ? ` (${run.message})` : '');
    $('progress').dataset.completed = run.completed;
    $('progress').dataset.total = run.total;
    $('progress').dataset.state = run.state;
    const judged = run.passed + run.failed;
    const items = [['cells', count(run.completed)], ['passed', count(run.passed)], ['failed', count(run.failed)], ['errors', count(run.errors)],
      ['accuracy', judged === 0 ? '–' : percent(run.passed / judged)], ...(cost == null ? [] : [['cost', money(cost)]])];
    $('summary').innerHTML = items.map(([k, v]) => `<div><dt>${k}</dt><dd id="summary-${k}">${v}</dd></div>`).join('');
  }

  function answer(report) {
    $('recommendations').innerHTML = report.recommendations.length === 0
      ? '<li>No recommendation yet: it needs scored cells.</li>'
      : report.recommendations.map(r => `<li><b>${escape(r.endpoint)}</b> (${escape(r.suite)}): `
        + (r.format == null ? '<b class="inconclusive">inconclusive</b>' : `use <b class="recommended">${escape(r.format)}</b>`) + `. ${escape(r.reason)}.</li>`).join('');
    const rule = report.settings?.recommend ?? { margin: 0.03, alpha: 0.05 };
    $('rule').textContent = `The cheapest format whose paired per-case difference from the most accurate one has its one-sided ${percent(1 - rule.alpha)} lower bound above −${(rule.margin * 100).toFixed(1)} points (Holm over the cheaper formats); inconclusive when none is, unless every cheaper format is shown worse by more than the margin; never a format at 0%.`;
    const head = [{ label: 'suite' }, { label: 'endpoint' }, { label: 'format' }, { label: 'tokens', num: true }, { label: 'accuracy', num: true }, { label: 'vs most accurate, points (95% CI)', num: true }, { label: 'p', num: true }, { label: 'standing' }];
    table('standings', head, report.recommendations.flatMap(r => (r.formats ?? []).map(f => [r.suite, r.endpoint, f.format, fixed(f.meanPromptTokens, 0), percent(f.accuracy),
      f.difference == null ? '–' : `${points(f.difference)} (${points(f.differenceLower)} to ${points(f.differenceUpper)})`, f.pValue == null ? '–' : f.pValue.toPrecision(3), standingText[f.standing] ?? f.standing])));
    $('notes').innerHTML = report.notes.map(n => `<p class="note">${escape(n)}</p>`).join('');
  }

  function heatmaps(report) {
    const suites = distinct(report.rows.map(r => r.suite));
    const box = $('heatmaps');
    suites.forEach((suite, s) => {
      const id = `heatmap-${s}`;
      if (!$(id)) {
        box.insertAdjacentHTML('beforeend', `<h3>${escape(suite)}</h3><div id="${id}" class="chart heatmap"></div>`);
      }
      const rows = report.rows.filter(r => r.suite === suite);
      const endpoints = distinct(rows.map(r => r.endpoint));
      const formats = distinct(rows.map(r => r.format));
      $(id).style.height = Math.max(220, 60 + 44 * formats.length) + 'px';
      chart(id).resize();
      chart(id).setOption({
        tooltip: {
          formatter: p => {
            const r = rows.find(x => x.endpoint === endpoints[p.data[0]] && x.format === formats[p.data[1]]);
            return `${escape(r.endpoint)} · ${escape(r.format)}<br>accuracy ${accuracyText(r)} (95% CI: ${percent(r.accuracyLower)}–${percent(r.accuracyUpper)}, ${intervalName(r)})<br>${r.cases} cases; ${r.passed} of ${scored(r)} cells passed, ${r.errors} errors`
              + (r.unstableShare == null ? '' : `<br>${percent(r.unstableShare)} of cases differ between repeats`);
          },
        },
        grid: { left: 130, right: 90, top: 10, bottom: 40 },
        xAxis: { type: 'category', data: endpoints, splitArea: { show: true } },
        yAxis: { type: 'category', data: formats, splitArea: { show: true } },
        visualMap: { min: 0, max: 1, calculable: true, orient: 'vertical', right: 0, top: 'center', formatter: v => percent(v), inRange: { color: ['#f4d6d3', '#fbf3d0', '#cfe9d8', '#1a7f4b'] } },
        series: [{
          type: 'heatmap',
          data: rows.filter(r => scored(r) > 0).map(r => [endpoints.indexOf(r.endpoint), formats.indexOf(r.format), r.accuracy]),
          label: { show: true, formatter: p => percent(p.data[2]) },
        }],
      }, true);
    });
  }

  // The points no other point beats on both counts: fewer tokens and at least as accurate.
  function paretoFront(points) {
    const front = [];
    let best = -1;
    for (const p of [...points].sort((a, b) => a[0] - b[0] || b[1] - a[1])) {
      if (p[1] > best) {
        front.push(p);
        best = p[1];
      }
    }
    return front;
  }

  // Accuracy against a cost per cell, per endpoint: its Pareto front dashed, its recommended format marked.
  function scatter(report, id, axis) {
    const series = [];
    distinct(report.rows.map(r => r.endpoint)).forEach((endpoint, e) => {
      const recommendation = report.recommendations.find(r => r.endpoint === endpoint);
      const rows = report.rows.filter(r => r.endpoint === endpoint && scored(r) > 0 && axis.value(r, recommendation) != null);
      const points = rows.map(r => [axis.value(r, recommendation), r.accuracy, r.format, axis.unit(recommendation)]);
      if (points.length === 0) return;
      // An endpoint keeps its colour from chart to chart, whichever endpoints a chart has points for.
      const color = palette[e % palette.length];
      series.push({ name: endpoint, type: 'scatter', symbolSize: 10, data: points, itemStyle: { color }, label: { show: true, position: 'top', formatter: p => p.data[2] } });
      series.push({ name: endpoint, type: 'line', data: paretoFront(points), symbol: 'none', itemStyle: { color }, lineStyle: { color, type: 'dashed' }, tooltip: { show: false } });
      const chosen = points.find(p => p[2] === recommendation?.format);
      if (chosen) {
        series.push({ name: endpoint, type: 'scatter', symbol: 'diamond', symbolSize: 22, data: [chosen], itemStyle: { color, borderColor: '#1d2430', borderWidth: 2 }, z: 5 });
      }
    });
    chart(id).setOption({
      tooltip: { formatter: p => `${escape(p.seriesName)} · ${escape(p.data[2])}<br>accuracy ${percent(p.data[1])}<br>${axis.text(p.data[0])} (${escape(p.data[3])})` },
      legend: { type: 'scroll', top: 0 },
      grid: { left: 60, right: 40, top: 40, bottom: 50 },
      xAxis: { type: 'value', name: axis.name, nameLocation: 'middle', nameGap: 30, scale: true },
      yAxis: { type: 'value', name: 'accuracy', min: 0, max: 1, axisLabel: { formatter: v => percent(v) } },
      series,
    }, true);
  }

  function scatters(report) {
    const all = tokenizers(report);
    const tokenizerOf = recommendation => recommendation?.tokenizer ?? all.find(t => t !== 'native') ?? all[0];
    scatter(report, 'scatter', {
      name: 'mean prompt tokens',
      value: (r, recommendation) => r.meanPromptTokens[tokenizerOf(recommendation)],
      unit: tokenizerOf,
      text: x => `${fixed(x, 0)} prompt tokens`,
    });
    const priced = report.rows.some(r => r.meanCost != null);
    $('cost-section').hidden = !priced;
    if (priced) {
      scatter(report, 'cost-scatter', {
        name: 'mean cost per cell',
        value: r => r.meanCost,
        unit: () => 'at the endpoint\'s price',
        text: x => `${money(x)} per cell`,
      });
    }
  }

  function tokens(report) {
    const formats = distinct(report.rows.map(r => r.format));
    const names = tokenizers(report).filter(t => t !== 'native');
    const mean = (format, tokenizer) => {
      const values = report.rows.filter(r => r.format === format && r.meanPromptTokens[tokenizer] != null).map(r => r.meanPromptTokens[tokenizer]);
      return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
    };
    chart('tokens').setOption({
      tooltip: { trigger: 'axis' },
      legend: { top: 0 },
      grid: { left: 70, right: 20, top: 40, bottom: 40 },
      xAxis: { type: 'category', data: formats },
      yAxis: { type: 'value', name: 'mean prompt tokens' },
      series: names.map(t => ({ name: t, type: 'bar', data: formats.map(f => mean(f, t)), label: { show: true, position: 'top', formatter: p => fixed(p.value, 0) } })),
    }, true);
  }

  function categories(report) {
    const rows = report.categories.filter(c => c.scored > 0);
    const names = distinct(rows.map(c => c.category));
    const lines = distinct(rows.map(c => `${c.endpoint} · ${c.format}`));
    $('categories').style.height = Math.max(220, 60 + 26 * lines.length) + 'px';
    chart('categories').resize();
    chart('categories').setOption({
      tooltip: { formatter: p => { const c = rows[p.data[3]]; return `${escape(c.endpoint)} · ${escape(c.format)} · ${escape(c.category)}<br>${c.passed} of ${c.scored} passed (${percent(c.passed / c.scored)})`; } },
      grid: { left: 220, right: 90, top: 10, bottom: 40 },
      xAxis: { type: 'category', data: names, splitArea: { show: true } },
      yAxis: { type: 'category', data: lines, splitArea: { show: true } },
      visualMap: { min: 0, max: 1, dimension: 2, calculable: true, right: 0, top: 'center', formatter: v => percent(v), inRange: { color: ['#f4d6d3', '#fbf3d0', '#cfe9d8', '#1a7f4b'] } },
      series: [{ type: 'heatmap', data: rows.map((c, i) => [names.indexOf(c.category), lines.indexOf(`${c.endpoint} · ${c.format}`), c.passed / c.scored, i]), label: { show: true, formatter: p => percent(p.data[2]) } }],
    }, true);
  }

  function matrix(report) {
    const names = tokenizers(report);
    const priced = report.rows.some(r => r.cost != null);
    const head = [{ label: 'suite' }, { label: 'endpoint' }, { label: 'format' }, { label: 'accuracy', key: 'accuracy', num: true }, { label: '95% CI', key: 'interval', num: true },
      { label: 'cases', key: 'cases', num: true }, { label: 'unstable', key: 'unstable', num: true },
      { label: 'passed', key: 'passed', num: true }, { label: 'failed', key: 'failed', num: true }, { label: 'errors', key: 'errors', num: true },
      ...names.map(t => ({ label: `${t} tokens`, key: `tokens-${t}`, num: true })),
      ...(priced ? [{ label: 'cost', key: 'cost', num: true }, { label: 'cost per cell', key: 'mean-cost', num: true }] : []),
      { label: 'p50 ms', num: true }, { label: 'p95 ms', num: true }];
    table('matrix', head, report.rows.map(r => [r.suite, r.endpoint, r.format, accuracyText(r),
      scored(r) === 0 ? '–' : `${percent(r.accuracyLower)}–${percent(r.accuracyUpper)}`, String(r.cases), r.unstableShare == null ? '–' : percent(r.unstableShare),
      String(r.passed), String(r.failed), String(r.errors),
      ...names.map(t => fixed(r.meanPromptTokens[t], 1)), ...(priced ? [money(r.cost), money(r.meanCost)] : []), fixed(r.latencyP50Ms, 1), fixed(r.latencyP95Ms, 1)]));
    [...$('matrix').tBodies[0].rows].forEach((tr, i) => { tr.dataset.endpoint = report.rows[i].endpoint; tr.dataset.format = report.rows[i].format; tr.dataset.suite = report.rows[i].suite; });
  }

  function comparisons(report) {
    const head = [{ label: 'suite' }, { label: 'endpoint' }, { label: 'format A' }, { label: 'format B' }, { label: 'cases', num: true }, { label: 'A better', num: true }, { label: 'B better', num: true },
      { label: 'A − B, points (95% CI)', num: true }, { label: 'p-value', num: true }, { label: '' }];
    table('comparisons', head, report.comparisons.map(c => [c.suite, c.endpoint, c.formatA, c.formatB, String(c.cases), String(c.aBetter), String(c.bBetter),
      `${points(c.difference)} (${points(c.differenceLower)} to ${points(c.differenceUpper)})`, c.pValue.toPrecision(3),
      c.pValue < 0.05 ? { text: `${c.difference > 0 ? c.formatA : c.formatB} better (p < 0.05)`, cls: 'significant' } : 'no significant difference']));
  }

  // How the run asked, so that its figures can be reproduced (never a key).
  function settings(report) {
    const s = report.settings;
    $('settings-summary').textContent = !s ? '' : `${s.repeats} repeat(s) per cell (a sampled cell's seed is its repeat)`
      + (s.caseLimit ? `; only the first ${s.caseLimit} case(s) of each suite` : '') + '.';
    const head = [{ label: 'endpoint' }, { label: 'type' }, { label: 'model' }, { label: 'adapter' }, { label: 'max tokens', num: true }, { label: 'temperature', num: true }, { label: 'top-p', num: true },
      { label: 'price per M tokens (in / out)', num: true }, { label: 'rate limit' }];
    const limits = l => !l ? '–' : [l.requestsPerMinute && `${count(l.requestsPerMinute)} requests/min`, l.tokensPerMinute && `${count(l.tokensPerMinute)} tokens/min`, l.maxConcurrency && `${l.maxConcurrency} at once`].filter(x => x).join(', ');
    table('settings', head, (s?.endpoints ?? []).map(e => [e.name, e.type, (e.model ?? '–') + (e.baseUrl ? ` at ${e.baseUrl}` : ''), e.adapter ?? '–',
      String(e.maxTokens), String(e.temperature), String(e.topP), e.cost ? `${money(e.cost.inputPerMTok)} / ${money(e.cost.outputPerMTok)}` : '–', limits(e.rateLimit)]));
  }

  function latency(report) {
    const rows = report.rows.filter(r => r.cells > 0);
    const labels = rows.map(r => `${r.endpoint} · ${r.format}`);
    $('latency').style.height = Math.max(220, 60 + 22 * labels.length) + 'px';
    chart('latency').resize();
    chart('latency').setOption({
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      legend: { top: 0 },
      grid: { left: 220, right: 30, top: 30, bottom: 40 },
      xAxis: { type: 'value', name: 'ms' },
      yAxis: { type: 'category', data: labels, inverse: true },
      series: [{ name: 'p50', type: 'bar', data: rows.map(r => r.latencyP50Ms) }, { name: 'p95', type: 'bar', data: rows.map(r => r.latencyP95Ms) }],
    }, true);
  }

  function fillSelect(id, values) {
    const select = $(id);
    const known = new Set([...select.options].map(o => o.value));
    values.filter(v => !known.has(v)).forEach(v => select.add(new Option(v, v)));
  }

  function cells() {
    const all = data.cells;
    fillSelect('cell-endpoint', distinct(all.map(c => c.endpoint)));
    fillSelect('cell-format', distinct(all.map(c => c.format)));
    const words = $('cell-filter').value.trim().toLowerCase().split(/\s+/).filter(w => w);
    const outcome = $('cell-outcome').value, endpoint = $('cell-endpoint').value, format = $('cell-format').value;
    const matching = all.filter(c => (!outcome || c.outcome === outcome) && (!endpoint || c.endpoint === endpoint) && (!format || c.format === format)
      && words.every(w => [c.caseId, c.promptTail, c.output, c.expected.join(' '), c.reason, c.cellId].some(t => (t || '').toLowerCase().includes(w))));
    const partial = data.cellsTotal > all.length ? ` (the page holds ${count(all.length)} of the run's ${count(data.cellsTotal)} cells; 'evalmesh results RUN' lists them all)` : '';
    $('cell-count').textContent = `${count(matching.length)} of ${count(all.length)} cells match` + (matching.length > shownCells ? `, the first ${shownCells} shown` : '') + partial;
    $('cell-count').dataset.matching = matching.length;
    const head = [{ label: 'case' }, { label: 'endpoint' }, { label: 'format' }, { label: 'repeat', num: true }, { label: 'outcome' }, { label: 'score', num: true }, { label: 'output' }, { label: 'expected' }, { label: 'reason' }];
    const shown = matching.slice(0, shownCells);
    table('cells', head, shown.map(c => [c.caseId, c.endpoint, c.format, String(c.repeat), { text: c.outcome, cls: c.outcome }, c.score.toFixed(2),
      { text: c.output, cls: 'text' }, { text: c.expected.join(' '), cls: 'text' }, { text: c.reason, cls: 'text' }]));
    [...$('cells').tBodies[0].rows].forEach((tr, i) => { tr.dataset.cell = shown[i].cellId; tr.addEventListener('click', () => detail(shown[i])); });
  }

  function detail(cell) {
    selectedCell = cell.cellId;
    const head = data.prompts.find(p => p.suite === cell.suite && p.format === cell.format)?.head ?? '';
    const box = $('cell-detail');
    box.hidden = false;
    box.innerHTML = `<h3>${escape(cell.caseId)} · ${escape(cell.endpoint)} · ${escape(cell.format)} · repeat ${cell.repeat}: <span class="${cell.outcome}">${cell.outcome}</span>, score ${cell.score.toFixed(2)} (${escape(cell.scorer)})</h3>`
      + `<b>reason</b><pre id="detail-reason">${escape(cell.reason)}</pre><b>output</b><pre id="detail-output">${escape(cell.output)}</pre>`
      + `<b>expected</b><pre id="detail-expected">${escape(cell.expected.join('\n'))}</pre><b>prompt</b><pre id="detail-prompt">${escape(head + (cell.promptTail ?? ''))}</pre>`;
  }

  function render() {
    const report = data.report;
    cost = report.cost ?? null;
    header(report.run);
    answer(report);
    heatmaps(report);
    scatters(report);
    tokens(report);
    categories(report);
    matrix(report);
    comparisons(report);
    latency(report);
    settings(report);
    cells();
    if (selectedCell) {
      const cell = data.cells.find(c => c.cellId === selectedCell);
      if (cell) detail(cell);
    }
  }

  for (const id of ['cell-filter', 'cell-outcome', 'cell-endpoint', 'cell-format']) {
    $(id).addEventListener('input', cells);
  }

  async function fetchJson(url) {
    const response = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    return response.json();
  }

  let fetchedAt = 0;
  let fetchEvery = 2000;
  async function poll() {
    try {
      const status = await fetchJson(statusUrl);
      const going = status.state === 'pending' || status.state === 'running';
      if (!data || !going || Date.now() - fetchedAt >= fetchEvery) {
        const started = Date.now();
        data = await fetchJson(live);
        fetchedAt = Date.now();
        fetchEvery = Math.max(2000, 4 * (fetchedAt - started));
        render();
      }
      header(status);
      if (going) setTimeout(poll, 1000);
    } catch (error) {
      $('progress').textContent = `could not refresh (${error.message}); retrying`;
      setTimeout(poll, 3000);
    }
  }

  if (live) {
    poll();
  } else {
    data = JSON.parse($('evalmesh-data').textContent);
    render();
  }
})();
