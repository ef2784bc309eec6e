(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("kg-data").textContent);
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  // A tooltip or details box built from plain strings with textContent: data never becomes markup.
  function tipElement(tip) {
    var box = el("div", "tip");
    box.appendChild(el("div", "t", tip.title));
    if (tip.title_zh) box.appendChild(el("div", "zh", tip.title_zh));
    var table = el("table");
    tip.rows.forEach(function (r) {
      var tr = el("tr");
      tr.appendChild(el("td", "k", r[0]));
      tr.appendChild(el("td", "v", r[1]));
      table.appendChild(tr);
    });
    box.appendChild(table);
    tip.quotes.forEach(function (q) {
      var b = el("blockquote", "quote");
      b.appendChild(el("div", "ln", q.line ? "Article, line " + q.line + ":" : "Source:"));
      b.appendChild(el("div", "q", "\u201c" + q.quote + "\u201d"));
      box.appendChild(b);
    });
    if (tip.more) box.appendChild(el("div", "ln", "+" + tip.more + " more source lines"));
    return box;
  }
  var nodeTips = {}, edgeTips = {};
  var nodeItems = DATA.nodes.map(function (n) {
    nodeTips[n.id] = n.tip;
    var item = Object.assign({}, n, { title: tipElement(n.tip) });
    delete item.tip;
    return item;
  });
  var edgeItems = DATA.edges.map(function (e) {
    edgeTips[e.id] = e.tip;
    var item = Object.assign({}, e, { title: tipElement(e.tip) });
    delete item.tip;
    return item;
  });
  var nodes = new vis.DataSet(nodeItems);
  var edges = new vis.DataSet(edgeItems);
  var container = document.getElementById("network");
  var network = new vis.Network(container, { nodes: nodes, edges: edges }, DATA.options);
  var api = window.kgViz = {
    network: network, nodes: nodes, edges: edges, stable: false, stableMs: null,
    visibleNodeIds: function () { return nodes.get({ filter: function (n) { return !n.hidden; } }).map(function (n) { return n.id; }); },
    visibleEdgeIds: function () { return edges.get({ filter: function (e) { return !e.hidden; } }).map(function (e) { return e.id; }); },
    loopEdgeIds: function () { return edges.get({ filter: function (e) { return e.loop; } }).map(function (e) { return e.id; }); },
    edgePoint: function (id) {  // where an edge's middle is drawn, in page coordinates (used by tests)
      var edge = network.body.edges[id];
      var p = edge.edgeType.getPoint(0.5);
      var d = network.canvasToDOM(p);
      var r = container.getBoundingClientRect();
      return { x: d.x + r.left, y: d.y + r.top };
    },
    nodePoint: function (id) {
      var p = network.getPositions([id])[id];
      var d = network.canvasToDOM(p);
      var r = container.getBoundingClientRect();
      return { x: d.x + r.left, y: d.y + r.top };
    }
  };
  function finish() {
    if (api.stable) return;
    network.setOptions({ physics: { enabled: false } });
    api.stable = true;
    api.stableMs = performance.now();
    document.documentElement.setAttribute("data-stable", "true");
    document.getElementById("busy").style.display = "none";
    if (DATA.meta.focus) { network.selectNodes([DATA.meta.focus]); showDetails(nodeTips[DATA.meta.focus]); }
  }
  network.once("stabilizationIterationsDone", finish);
  network.once("stabilized", finish);
  if (DATA.nodes.length === 0) finish();

  // Panel
  document.getElementById("title").textContent = DATA.meta.title;
  function updateCounts() {
    var n = api.visibleNodeIds().length, m = api.visibleEdgeIds().length;
    document.getElementById("counts").textContent = n + " organizations and people, " + m +
      " flows and relations shown (" + DATA.nodes.length + " and " + DATA.edges.length + " in all; " +
      DATA.meta.loopEdges + " in circular deals).";
  }
  if (DATA.meta.assumed) document.getElementById("assumed").textContent = "What if: " + DATA.meta.assumed + ".";
  document.getElementById("note").textContent = DATA.meta.note;
  if (DATA.meta.leftOut.length) {
    var det = el("details"), list = el("ul");
    det.appendChild(el("summary", null, "Left out (" + DATA.meta.leftOutCount + ")"));
    DATA.meta.leftOut.forEach(function (t) { list.appendChild(el("li", null, t)); });
    if (DATA.meta.leftOutCount > DATA.meta.leftOut.length) list.appendChild(el("li", null, "…"));
    det.appendChild(list);
    document.getElementById("left-out").appendChild(det);
  }
  var kindBox = document.getElementById("edge-kinds");
  var kindChecks = {};
  DATA.edgeKinds.forEach(function (k) {
    var row = el("label", "row");
    var box = el("input"); box.type = "checkbox"; box.checked = true; box.value = k.id;
    box.className = "edge-kind"; box.setAttribute("data-kind", k.id);
    kindChecks[k.id] = box;
    var line = el("span", "line"); line.style.borderColor = k.color;
    row.appendChild(box); row.appendChild(line); row.appendChild(el("span", null, k.name));
    row.appendChild(el("span", "count", "(" + k.count + ")"));
    kindBox.appendChild(row);
    box.addEventListener("change", applyFilters);
  });
  var nodeKindBox = document.getElementById("node-kinds");
  DATA.nodeKinds.forEach(function (k) {
    var row = el("div", "row"), sw = el("span", "swatch");
    sw.style.background = k.color;
    row.appendChild(sw); row.appendChild(el("span", null, k.name));
    nodeKindBox.appendChild(row);
  });
  var company = document.getElementById("company"), datalist = document.getElementById("names");
  DATA.nodes.slice().sort(function (a, b) { return a.label_en.localeCompare(b.label_en); }).forEach(function (n) {
    var o = el("option", null, n.label_en + (n.label_zh && n.label_zh !== n.label_en ? " / " + n.label_zh : ""));
    o.value = n.id; company.appendChild(o);
    var d = el("option"); d.value = n.label_en; datalist.appendChild(d);
    if (n.label_zh && n.label_zh !== n.label_en) { var z = el("option"); z.value = n.label_zh; datalist.appendChild(z); }
  });
  company.addEventListener("change", applyFilters);
  var cyclesOnly = document.getElementById("cycles-only");
  cyclesOnly.addEventListener("change", applyFilters);

  function applyFilters() {
    var who = company.value, loopsOnly = cyclesOnly.checked;
    var filtering = loopsOnly || who !== "" || Object.keys(kindChecks).some(function (k) { return !kindChecks[k].checked; });
    var shownNodes = {};
    var edgeUpdates = edges.get().map(function (e) {
      var show = kindChecks[e.kind].checked && (who === "" || e.from === who || e.to === who) && (!loopsOnly || e.loop);
      if (show) { shownNodes[e.from] = true; shownNodes[e.to] = true; }
      return { id: e.id, hidden: !show };
    });
    if (who !== "") shownNodes[who] = true;
    edges.update(edgeUpdates);
    nodes.update(nodes.get().map(function (n) { return { id: n.id, hidden: filtering && !shownNodes[n.id] }; }));
    updateCounts();
  }
  api.applyFilters = applyFilters;

  document.getElementById("lang-zh").addEventListener("change", function (ev) {
    var zh = ev.target.checked;
    nodes.update(nodes.get().map(function (n) { return { id: n.id, label: zh && n.label_zh ? n.label_zh : n.label_en }; }));
  });

  var search = document.getElementById("search"), status = document.getElementById("search-status");
  function find(text) {
    var q = text.trim().toLowerCase();
    if (!q) return null;
    var all = nodes.get(), i, n;
    for (i = 0; i < all.length; i++) { n = all[i]; if (n.label_en.toLowerCase() === q || (n.label_zh || "").toLowerCase() === q) return n; }
    for (i = 0; i < all.length; i++) { n = all[i]; if (n.label_en.toLowerCase().indexOf(q) >= 0 || (n.label_zh || "").toLowerCase().indexOf(q) >= 0) return n; }
    return null;
  }
  function goTo() {
    var n = find(search.value);
    if (!n) { status.textContent = search.value.trim() ? "No organization or person matches \u201c" + search.value.trim() + "\u201d." : ""; return; }
    status.textContent = "";
    if (n.hidden) { company.value = ""; cyclesOnly.checked = false; Object.keys(kindChecks).forEach(function (k) { kindChecks[k].checked = true; }); applyFilters(); }
    network.selectNodes([n.id]);
    network.focus(n.id, { scale: 1.3, animation: false });
    showDetails(nodeTips[n.id]);
  }
  api.find = find;
  search.addEventListener("keydown", function (ev) { if (ev.key === "Enter") goTo(); });
  search.addEventListener("change", goTo);

  var details = document.getElementById("details");
  function showDetails(tip) {
    details.textContent = "";
    details.className = "";
    if (tip) details.appendChild(tipElement(tip));
  }
  network.on("click", function (p) {
    if (p.nodes.length) showDetails(nodeTips[p.nodes[0]]);
    else if (p.edges.length) showDetails(edgeTips[p.edges[0]]);
  });
  network.on("hoverEdge", function (p) { showDetails(edgeTips[p.edge]); });
  network.on("hoverNode", function (p) { showDetails(nodeTips[p.node]); });
  document.getElementById("fit").addEventListener("click", function () { network.fit({ animation: false }); });
  updateCounts();
})();
