/**
 * The dashboard page: static HTML, CSS and a small script (no build step, no framework). The
 * script reads /api/status once, then follows /api/events (server-sent events, one StatusReport
 * per collection) and redraws:
 *   - the tree as SVG: nodes coloured by role (root / relay / leaf), ringed by their host's CPU
 *     level (ok / warn / crit, grey when offline), tree links solid, redundancy links dashed,
 *     each path drawn over its links in its own colour, per-hop packet counters beside the
 *     nodes and the VMs under their hosts;
 *   - host cards (online, CPU bar against the two thresholds, VMs, tunnels and BFD);
 *   - a table of per-hop counters and rates;
 *   - migrations under way as progress bars, and the last migration of each VM.
 * Everything from the report is put in the page as text (textContent / SVG text nodes), never
 * as markup. Served from the same origin under a strict Content-Security-Policy.
 */

export const PAGE_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>VPM dashboard</title>
<link rel="stylesheet" href="/app.css">
</head>
<body>
<header>
  <h1>VPM <span id="stack" class="muted"></span></h1>
  <div id="summary" class="summary"></div>
  <div class="legend">
    <span class="chip role-root">root</span><span class="chip role-relay">relay</span><span class="chip role-leaf">leaf</span>
    <span class="sep"></span>
    <span class="ring lvl-ok"></span>CPU&nbsp;ok <span class="ring lvl-warn"></span><span id="warnAt">warn</span> <span class="ring lvl-crit"></span><span id="critAt">crit</span> <span class="ring lvl-unknown"></span>offline
    <span class="sep"></span>
    <svg width="34" height="10" aria-hidden="true"><line x1="0" y1="5" x2="34" y2="5" class="link-tree"/></svg>tree
    <svg width="34" height="10" aria-hidden="true"><line x1="0" y1="5" x2="34" y2="5" class="link-redundancy"/></svg>redundancy
  </div>
  <div id="conn" class="conn" data-state="connecting">connecting…</div>
</header>
<main>
  <section class="panel tree-panel">
    <h2>Tree</h2>
    <svg id="tree" role="img" aria-label="streaming tree"></svg>
  </section>
  <section class="panel">
    <h2>Hosts</h2>
    <div id="hosts" class="hosts"></div>
  </section>
  <section class="panel">
    <h2>Paths: packets per hop</h2>
    <table id="paths"><thead><tr><th>path</th><th>hop</th><th>state</th><th class="num">packets</th><th class="num">pkt/s</th><th class="num">via VM</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="panel">
    <h2>VMs and migrations</h2>
    <div id="migrations"></div>
    <table id="vms"><thead><tr><th>VM</th><th>node</th><th>host</th><th>state</th><th>last migration</th></tr></thead><tbody></tbody></table>
  </section>
</main>
<script src="/app.js"></script>
</body>
</html>
`;

export const PAGE_CSS = String.raw`
:root { --bg: #f6f7f9; --panel: #fff; --ink: #1d2330; --muted: #6b7385; --line: #d9dde5;
  --root: #6f42c1; --relay: #1f6feb; --leaf: #1a7f37; --switch: #8c959f;
  --ok: #2da44e; --warn: #d4a72c; --crit: #cf222e; --unknown: #8c959f; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 24px; padding: 10px 18px; background: #1d2330; color: #fff; }
header h1 { font-size: 18px; margin: 0; }
header .muted { color: #aab2c0; font-weight: normal; }
.summary { font-size: 14px; }
.summary b { font-weight: 600; }
.legend { display: flex; align-items: center; gap: 6px; font-size: 12px; color: #d0d6e0; }
.legend .sep { width: 10px; }
.chip { padding: 1px 7px; border-radius: 9px; color: #fff; font-size: 11px; }
.role-root { background: var(--root); } .role-relay { background: var(--relay); } .role-leaf { background: var(--leaf); } .role-switch { background: var(--switch); }
.ring { display: inline-block; width: 12px; height: 12px; border-radius: 50%; border: 3px solid; }
.lvl-ok { border-color: var(--ok); } .lvl-warn { border-color: var(--warn); } .lvl-crit { border-color: var(--crit); } .lvl-unknown { border-color: var(--unknown); }
.legend line { stroke: #d0d6e0; stroke-width: 2; }
.legend line.link-redundancy { stroke-dasharray: 5 4; }
.conn { margin-left: auto; font-size: 12px; padding: 2px 8px; border-radius: 9px; background: #57606a; }
.conn[data-state="live"] { background: var(--ok); }
.conn[data-state="lost"] { background: var(--crit); }
main { display: grid; grid-template-columns: minmax(520px, 1.35fr) minmax(380px, 1fr); gap: 14px; padding: 14px 18px; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 0; }
.panel h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 0 0 8px; }
.tree-panel { grid-row: span 2; }
#tree { width: 100%; height: auto; display: block; }
#tree .link-tree { stroke: #9aa4b2; stroke-width: 3; }
#tree .link-redundancy { stroke: #9aa4b2; stroke-width: 2.5; stroke-dasharray: 8 6; }
#tree .path { fill: none; stroke-width: 9; stroke-linecap: round; stroke-linejoin: round; opacity: .38; }
#tree .node-body { stroke: #fff; stroke-width: 3; }
#tree .node-ring { fill: none; stroke-width: 6; }
#tree [data-role="root"] > .node-body { fill: var(--root); } #tree [data-role="relay"] > .node-body { fill: var(--relay); }
#tree [data-role="leaf"] > .node-body { fill: var(--leaf); } #tree [data-role="switch"] > .node-body { fill: var(--switch); }
#tree [data-level="ok"] > .node-ring { stroke: var(--ok); } #tree [data-level="warn"] > .node-ring { stroke: var(--warn); }
#tree [data-level="crit"] > .node-ring { stroke: var(--crit); } #tree [data-level="unknown"] > .node-ring { stroke: var(--unknown); }
#tree .node-id { fill: #fff; font-weight: 700; font-size: 15px; text-anchor: middle; dominant-baseline: central; }
#tree .node-role { font-size: 11px; fill: var(--muted); text-anchor: middle; }
#tree .node-host { font-size: 12px; text-anchor: middle; fill: var(--ink); }
#tree .counter { font-size: 12px; font-weight: 600; font-variant-numeric: tabular-nums; }
#tree .counter-sub { font-size: 11px; font-variant-numeric: tabular-nums; }
#tree .vm rect { fill: #eef1f5; stroke: #9aa4b2; rx: 4; }
#tree .vm.running rect { fill: #e6f4ea; stroke: var(--leaf); }
#tree .vm.migrating rect { fill: #fff8c5; stroke: var(--warn); }
#tree .vm text { font-size: 11px; text-anchor: middle; dominant-baseline: central; }
.hosts { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px; }
.host { border: 1px solid var(--line); border-left: 6px solid var(--unknown); border-radius: 6px; padding: 6px 8px; }
.host.lvl-ok { border-left-color: var(--ok); } .host.lvl-warn { border-left-color: var(--warn); } .host.lvl-crit { border-left-color: var(--crit); }
.host.offline { background: #f6f8fa; color: var(--muted); }
.host .name { font-weight: 700; }
.host .badge { float: right; font-size: 11px; padding: 0 6px; border-radius: 8px; color: #fff; background: var(--ok); }
.host.offline .badge { background: var(--crit); }
.host .small { font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
.bar { position: relative; height: 8px; border-radius: 4px; background: #eaeef2; margin: 4px 0; overflow: hidden; }
.bar > span { position: absolute; left: 0; top: 0; bottom: 0; background: var(--unknown); }
.bar.lvl-ok > span { background: var(--ok); } .bar.lvl-warn > span { background: var(--warn); } .bar.lvl-crit > span { background: var(--crit); }
.bar .mark { position: absolute; top: 0; bottom: 0; width: 2px; background: #57606a; opacity: .5; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.state-ok { color: var(--ok); } .state-missing, .state-unreachable { color: var(--crit); font-weight: 600; } .state-unknown { color: var(--muted); }
.mig { margin-bottom: 8px; }
.mig .bar { height: 14px; }
.mig .bar > span { background: var(--relay); transition: width .4s; }
.muted { color: var(--muted); }
`;

export const PAGE_JS = String.raw`
(function () {
  'use strict';
  var SVGNS = 'http://www.w3.org/2000/svg';
  var PATH_COLOURS = ['#fb8500', '#e63946', '#219ebc', '#8338ec', '#2a9d8f', '#ff006e'];
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmt(n) { return n === null || n === undefined ? '-' : Number(n).toLocaleString('en-US'); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  /** Tidy layout: BFS depth from the root over tree links; leaves in order, parents centred. */
  function layout(report) {
    var ids = report.nodes.map(function (n) { return n.id; });
    var adj = {};
    ids.forEach(function (id) { adj[id] = []; });
    report.tree.forEach(function (l) { if (adj[l.a] && adj[l.b]) { adj[l.a].push(l.b); adj[l.b].push(l.a); } });
    var root = report.root || ids[0];
    var depth = {}, children = {}, order = [];
    if (root !== undefined) {
      depth[root] = 0;
      var queue = [root];
      while (queue.length) {
        var n = queue.shift();
        order.push(n);
        children[n] = [];
        adj[n].slice().sort().forEach(function (m) {
          if (depth[m] === undefined) { depth[m] = depth[n] + 1; children[n].push(m); queue.push(m); }
        });
      }
    }
    var maxDepth = 0;
    order.forEach(function (n) { maxDepth = Math.max(maxDepth, depth[n]); });
    var x = {}, next = 0;
    function place(n) {
      if (!children[n] || children[n].length === 0) { x[n] = next++; return; }
      children[n].forEach(place);
      var c = children[n];
      x[n] = (x[c[0]] + x[c[c.length - 1]]) / 2;
    }
    if (root !== undefined) place(root);
    // Nodes outside the tree (pruned): a row of their own below.
    var loose = ids.filter(function (id) { return depth[id] === undefined; });
    loose.forEach(function (id, i) { depth[id] = maxDepth + 1; x[id] = i; });
    if (loose.length) maxDepth += 1;
    var slots = Math.max(next, loose.length, 1);
    var colW = 230, rowH = 190, padX = 130, padY = 70;
    var pos = {};
    ids.forEach(function (id) { pos[id] = { x: padX + x[id] * colW, y: padY + depth[id] * rowH }; });
    return { pos: pos, width: padX * 2 + (slots - 1) * colW, height: padY + maxDepth * rowH + 150 };
  }

  function drawTree(report) {
    var svg = $('tree');
    clear(svg);
    var L = layout(report);
    svg.setAttribute('viewBox', '0 0 ' + L.width + ' ' + L.height);
    var hostBy = {};
    report.hosts.forEach(function (h) { hostBy[h.name] = h; });
    var nodeBy = {};
    report.nodes.forEach(function (n) { nodeBy[n.id] = n; });
    // Everything is drawn into one group so that its measured extent can size the view box.
    var gAll = sv('g', { 'class': 'tree-content' });
    var gLinks = sv('g'), gPaths = sv('g'), gNodes = sv('g');
    gAll.appendChild(gLinks); gAll.appendChild(gPaths); gAll.appendChild(gNodes);
    svg.appendChild(gAll);

    function line(a, b, cls, extra) {
      var p = L.pos[a], q = L.pos[b];
      if (!p || !q) return;
      var attrs = { x1: p.x, y1: p.y, x2: q.x, y2: q.y, 'class': cls };
      for (var k in extra || {}) attrs[k] = extra[k];
      gLinks.appendChild(sv('line', attrs));
    }
    report.tree.forEach(function (l) { line(l.a, l.b, 'link-tree', { 'data-link': l.a + '-' + l.b }); });
    report.redundancy.forEach(function (l) {
      var p = L.pos[l.a], q = L.pos[l.b];
      if (!p || !q) return;
      // Curve redundancy links below siblings so they do not hide tree links.
      var mx = (p.x + q.x) / 2, my = Math.max(p.y, q.y) + 70;
      gLinks.appendChild(sv('path', { d: 'M' + p.x + ',' + p.y + ' Q' + mx + ',' + my + ' ' + q.x + ',' + q.y, 'class': 'link-redundancy', fill: 'none', 'data-redundancy': l.a + '-' + l.b }));
    });

    // Paths over their links, each in its colour, slightly offset when several share a link.
    var counterLines = {};
    report.paths.forEach(function (p, i) {
      var colour = PATH_COLOURS[i % PATH_COLOURS.length];
      var off = (i - (report.paths.length - 1) / 2) * 7;
      var pts = p.nodes.map(function (n) { var q = L.pos[n]; return q ? (q.x + off) + ',' + (q.y + off) : null; }).filter(Boolean);
      if (pts.length > 1) gPaths.appendChild(sv('polyline', { points: pts.join(' '), 'class': 'path', stroke: colour, 'data-path': p.name }));
      p.hops.forEach(function (h) {
        (counterLines[h.node] = counterLines[h.node] || []).push({ path: p.name, hop: h, colour: colour });
      });
    });

    report.nodes.forEach(function (n) {
      var q = L.pos[n.id];
      var host = hostBy[n.host];
      var level = host ? (host.online ? host.cpu.level : 'unknown') : 'unknown';
      var g = sv('g', { 'data-node': n.id, 'data-role': n.role, 'data-level': level, transform: 'translate(' + q.x + ',' + q.y + ')' });
      // The colours of the role and the CPU level come from the stylesheet, by the group's
      // data-role and data-level, not from inline var() styles set at render time: with those,
      // a CI run saw every node in one colour although the stylesheet had applied.
      g.appendChild(sv('circle', { r: 36, 'class': 'node-ring' }));
      g.appendChild(sv('circle', { r: 28, 'class': 'node-body' }));
      g.appendChild(sv('text', { 'class': 'node-id' }, n.id));
      g.appendChild(sv('text', { 'class': 'node-role', y: -44 }, n.role));
      var cpu = host ? (host.online ? (host.cpu.percent === null ? '?' : host.cpu.percent.toFixed(0) + '%') + ' CPU' : 'OFFLINE') : '';
      g.appendChild(sv('text', { 'class': 'node-host', y: 54 }, (n.host !== n.id ? n.host + ' · ' : '') + cpu));
      // Counters of the paths through this node: packets (and rate), then what came back from a VM.
      (counterLines[n.id] || []).forEach(function (c, k) {
        var y = -10 + k * 32;
        var t = sv('text', { 'class': 'counter', x: 44, y: y, fill: c.colour, 'data-counter': c.path + '/' + n.id, 'data-packets': c.hop.packets === null ? '' : c.hop.packets });
        t.textContent = fmt(c.hop.packets) + ' pkts' + (c.hop.pps !== null && c.hop.pps !== undefined ? ' · ' + fmt(c.hop.pps) + '/s' : '') + (c.hop.state !== 'ok' ? ' · ' + c.hop.state : '');
        g.appendChild(t);
        if (c.hop.vmPackets !== undefined) {
          g.appendChild(sv('text', { 'class': 'counter-sub', x: 44, y: y + 15, fill: c.colour }, 'VM → ' + fmt(c.hop.vmPackets) + ' pkts'));
        }
      });
      // VMs under their host.
      var vms = host ? host.vms : [];
      vms.forEach(function (v, k) {
        var migrating = report.migrations.some(function (m) { return m.vm === v.name && m.host === host.name; });
        var cls = 'vm ' + (migrating ? 'migrating' : v.state === 'running' ? 'running' : 'other');
        var vg = sv('g', { 'class': cls, 'data-vm': v.name, transform: 'translate(0,' + (80 + k * 26) + ')' });
        vg.appendChild(sv('rect', { x: -60, y: -10, width: 120, height: 21 }));
        vg.appendChild(sv('text', {}, v.name + ' · ' + (migrating ? 'migrating' : v.state)));
        g.appendChild(vg);
      });
      gNodes.appendChild(g);
    });
    fitViewBox(svg, gAll, L);
  }

  /**
   * The layout's grid does not know how wide the counter labels (beside each node, to its
   * right) and the VM boxes end up: a long count at the rightmost node used to run past the
   * view box and be clipped at the panel's edge. So the view box is the union of the grid and
   * the measured extent of everything drawn, plus a margin; the SVG scales to the panel.
   */
  function fitViewBox(svg, content, L) {
    var margin = 12;
    var x0 = 0, y0 = 0, x1 = L.width, y1 = L.height;
    try {
      var bb = content.getBBox();
      x0 = Math.min(x0, bb.x - margin); y0 = Math.min(y0, bb.y - margin);
      x1 = Math.max(x1, bb.x + bb.width + margin); y1 = Math.max(y1, bb.y + bb.height + margin);
    } catch (e) { /* not rendered (display: none): keep the grid's box */ }
    x0 = Math.floor(x0); y0 = Math.floor(y0);
    svg.setAttribute('viewBox', [x0, y0, Math.ceil(x1 - x0), Math.ceil(y1 - y0)].join(' '));
  }

  function drawHosts(report) {
    var box = $('hosts');
    clear(box);
    report.hosts.forEach(function (h) {
      var level = h.online ? h.cpu.level : 'unknown';
      var card = el('div', { 'class': 'host lvl-' + level + (h.online ? '' : ' offline'), 'data-host': h.name, 'data-online': String(h.online), 'data-level': level });
      card.appendChild(el('span', { 'class': 'badge' }, h.online ? 'online' : 'offline'));
      card.appendChild(el('div', { 'class': 'name' }, h.name));
      card.appendChild(el('div', { 'class': 'small' }, h.nodes.map(function (n, i) { return n + (h.roles[i] ? ' (' + h.roles[i] + ')' : ''); }).join(', ') + ' · ' + h.address));
      var bar = el('div', { 'class': 'bar lvl-' + level, title: 'CPU' });
      var fill = el('span');
      fill.style.width = (h.cpu.percent === null ? 0 : Math.min(100, h.cpu.percent)) + '%';
      bar.appendChild(fill);
      [report.thresholds.warn, report.thresholds.crit].forEach(function (t) { var m = el('span', { 'class': 'mark' }); m.style.left = t + '%'; bar.appendChild(m); });
      card.appendChild(bar);
      card.appendChild(el('div', { 'class': 'small', 'data-cpu': h.name }, h.online ? 'CPU ' + (h.cpu.percent === null ? '?' : h.cpu.percent.toFixed(1) + '%') + ' · ' + h.cpu.level : (h.error || 'unreachable')));
      if (h.vms.length) card.appendChild(el('div', { 'class': 'small' }, 'VMs: ' + h.vms.map(function (v) { return v.name + ' ' + v.state; }).join(', ')));
      if (h.tunnels.length) {
        card.appendChild(el('div', { 'class': 'small' }, 'tunnels: ' + h.tunnels.map(function (t) {
          return t.name + ' ' + (t.linkState || '?') + (t.bfd ? ' bfd ' + (t.bfd.state || '?') : '');
        }).join(', ')));
      }
      box.appendChild(card);
    });
  }

  function drawPaths(report) {
    var body = $('paths').tBodies[0];
    clear(body);
    report.paths.forEach(function (p) {
      p.hops.forEach(function (h, i) {
        var tr = el('tr', { 'data-path': p.name, 'data-hop': h.node });
        tr.appendChild(el('td', {}, i === 0 ? p.name + (p.receiver ? ' → ' + p.receiver : '') : ''));
        tr.appendChild(el('td', {}, h.node));
        tr.appendChild(el('td', { 'class': 'state-' + h.state }, h.state));
        tr.appendChild(el('td', { 'class': 'num', 'data-packets': h.packets === null ? '' : h.packets }, fmt(h.packets)));
        tr.appendChild(el('td', { 'class': 'num' }, fmt(h.pps)));
        tr.appendChild(el('td', { 'class': 'num' }, h.vmPackets === undefined ? '' : fmt(h.vmPackets)));
        body.appendChild(tr);
      });
    });
  }

  function drawVms(report) {
    var box = $('migrations');
    clear(box);
    if (!report.migrations.length) box.appendChild(el('div', { 'class': 'muted' }, 'no migration under way'));
    report.migrations.forEach(function (m) {
      var d = el('div', { 'class': 'mig', 'data-migration': m.vm });
      var pct = m.progress === undefined ? null : Math.round(m.progress * 100);
      d.appendChild(el('div', {}, m.vm + ' leaving ' + m.host + ' · ' + (m.operation || m.type) + (pct === null ? '' : ' · ' + pct + '%') + (m.timeElapsedMs ? ' · ' + m.timeElapsedMs + ' ms' : '')));
      var bar = el('div', { 'class': 'bar' });
      var fill = el('span');
      fill.style.width = (pct === null ? 5 : pct) + '%';
      bar.appendChild(fill);
      d.appendChild(bar);
      box.appendChild(d);
    });
    var body = $('vms').tBodies[0];
    clear(body);
    report.vms.forEach(function (v) {
      var tr = el('tr', { 'data-vm': v.name });
      var lm = v.lastMigration;
      tr.appendChild(el('td', {}, v.name));
      tr.appendChild(el('td', {}, v.node || '-'));
      tr.appendChild(el('td', {}, v.liveHost || v.host + '?'));
      tr.appendChild(el('td', {}, v.state));
      tr.appendChild(el('td', {}, lm ? lm.from + ' → ' + lm.to + ', downtime ' + lm.downtimeMs + ' ms, total ' + lm.totalMs + ' ms' : '-'));
      body.appendChild(tr);
    });
  }

  function render(report) {
    $('stack').textContent = report.stack;
    var s = report.summary;
    var sum = $('summary');
    clear(sum);
    sum.appendChild(el('b', {}, s.online + '/' + s.hosts));
    sum.appendChild(document.createTextNode(' hosts online · '));
    sum.appendChild(el('b', {}, s.pathsOk + '/' + s.paths));
    sum.appendChild(document.createTextNode(' paths ok · ' + new Date(report.takenAt).toLocaleTimeString()));
    $('warnAt').textContent = 'warn ≥' + report.thresholds.warn + '%';
    $('critAt').textContent = 'crit ≥' + report.thresholds.crit + '%';
    drawTree(report);
    drawHosts(report);
    drawPaths(report);
    drawVms(report);
    document.body.setAttribute('data-taken-at', report.takenAt);
  }

  var conn = $('conn');
  function setConn(state, text) { conn.setAttribute('data-state', state); conn.textContent = text; }
  fetch('/api/status').then(function (r) { return r.ok ? r.json() : null; }).then(function (r) { if (r) render(r); }).catch(function () {});
  var es = new EventSource('/api/events');
  es.addEventListener('status', function (e) { setConn('live', 'live'); render(JSON.parse(e.data)); });
  es.onerror = function () { setConn('lost', 'reconnecting…'); };
})();
`;
