// The cluster list of a dedup HTML report: search, filters, pages, and each cluster's occurrences and diffs.
// Text from the data is only ever inserted with textContent, never as HTML.
(function () {
  "use strict";
  var PAGE_SIZE = 50;
  var data = JSON.parse(document.getElementById("dedup-data").textContent);
  var docs = data.documents;
  var clusters = data.clusters;
  var state = { page: 0, matches: clusters };
  var byId = function (id) { return document.getElementById(id); };
  var controls = {
    search: byId("search"), kind: byId("kind"), scope: byId("scope"), minSize: byId("min-size"),
    maxSize: byId("max-size"), short: byId("short"), sort: byId("sort")
  };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function number(n) { return n.toLocaleString("en-US"); }

  function place(c, i) {
    return c.places[i];
  }

  // What a search looks in: the text, the words its near copies add, and every document the cluster stands in
  // (built once, on first search).
  function haystack(c) {
    if (c._haystack === undefined) {
      var names = {}, added = [];
      for (var i = 0; i < c.occurrences.length; i += 3) names[docs[c.occurrences[i]]] = true;
      c.diffs.forEach(function (segments) {
        segments.forEach(function (segment) { if (segment[0] === "+") added.push(segment[1]); });
      });
      c._haystack = [c.text].concat(added, Object.keys(names)).join("\n").toLowerCase();
    }
    return c._haystack;
  }

  var SORTS = {
    chars: function (a, b) { return b.chars - a.chars || a.id - b.id; },
    blocks: function (a, b) { return b.blocks - a.blocks || a.id - b.id; },
    docs: function (a, b) { return b.docs - a.docs || a.id - b.id; },
    id: function (a, b) { return a.id - b.id; }
  };

  function filter() {
    var words = controls.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var kind = controls.kind.value, scope = controls.scope.value, withShort = controls.short.checked;
    var low = parseInt(controls.minSize.value, 10) || 0;
    var high = parseInt(controls.maxSize.value, 10) || Infinity;
    state.matches = clusters.filter(function (c) {
      if (kind && c.kind !== kind) return false;
      if (scope && c.scope !== scope) return false;
      if (!withShort && c.short) return false;
      if (c.blocks < low || c.blocks > high) return false;
      if (!words.length) return true;
      var hay = haystack(c);
      return words.every(function (w) { return hay.indexOf(w) >= 0; });
    }).sort(SORTS[controls.sort.value] || SORTS.chars);
    state.page = 0;
    render();
  }

  function render() {
    var pages = Math.max(1, Math.ceil(state.matches.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages - 1);
    var start = state.page * PAGE_SIZE;
    var shown = state.matches.slice(start, start + PAGE_SIZE);
    var list = byId("cluster-list");
    list.replaceChildren.apply(list, shown.map(clusterItem));
    var shown = clusters.length < data.total
      ? " (the " + number(clusters.length) + " largest of " + number(data.total) + "; clusters.parquet holds all)"
      : "";
    byId("count").textContent = (state.matches.length === clusters.length
      ? number(clusters.length) + " clusters"
      : number(state.matches.length) + " of " + number(clusters.length) + " clusters match") + shown;
    byId("page").textContent = "Page " + number(state.page + 1) + " of " + number(pages);
    byId("prev").disabled = state.page === 0;
    byId("next").disabled = state.page >= pages - 1;
  }

  function clusterItem(c) {
    var item = el("li", "cluster " + c.kind + (c.short ? " short" : ""));
    item.dataset.cluster = c.id;
    var details = el("details");
    var summary = el("summary");
    var meta = el("div", "meta");
    meta.appendChild(el("span", "id", "#" + c.id));
    meta.appendChild(el("span", "badge " + c.kind, c.kind));
    if (c.short) meta.appendChild(el("span", "badge short", "short line"));
    meta.appendChild(document.createTextNode(
      (c.scope === "cross-doc" ? "across documents" : "within a document") + " · " + number(c.blocks) +
      " blocks in " + number(c.docs) + (c.docs === 1 ? " document" : " documents") + " · " +
      number(c.chars) + " characters"));
    summary.appendChild(meta);
    summary.appendChild(el("div", "excerpt", c.text));
    details.appendChild(summary);
    details.addEventListener("toggle", function () {
      if (details.open && !details.querySelector(".body")) details.appendChild(clusterBody(c));
    });
    item.appendChild(details);
    return item;
  }

  function clusterBody(c) {
    var body = el("div", "body");
    var count = c.occurrences.length / 3;
    body.appendChild(el("h4", null, "Occurrences (file:line:column)"));
    var places = el("ul", "places");
    for (var i = 0; i < count; i++) {
      var li = el("li", "place", place(c, i));
      var variant = c.occurrences[3 * i + 2];
      if (c.diffs.length) li.appendChild(el("span", "v", variant === 0 ? "first" : "variant " + variant));
      places.appendChild(li);
    }
    body.appendChild(places);
    if (c.blocks > count) {
      body.appendChild(el("p", "more", "… and " + number(c.blocks - count) +
        " more occurrences, listed in blocks.parquet (the page shows the first " + number(count) + ")"));
    }
    if (c.diffs.length) {
      body.appendChild(el("h4", null, "Near copies, word by word against the first occurrence"));
      c.diffs.forEach(function (segments, index) { body.appendChild(diffView(c, segments, index + 1)); });
    } else {
      body.appendChild(el("h4", null, "Text"));
      body.appendChild(el("div", "full", c.text));
    }
    return body;
  }

  function firstPlaceOf(c, variant) {
    for (var i = 0; i < c.occurrences.length / 3; i++) {
      if (c.occurrences[3 * i + 2] === variant) return place(c, i);
    }
    return "not among the occurrences shown";
  }

  function diffView(c, segments, variant) {
    var view = el("div", "diff");
    var left = el("div", "side old"), right = el("div", "side new");
    left.appendChild(el("h4", null, "first · " + firstPlaceOf(c, 0)));
    right.appendChild(el("h4", null, "variant " + variant + " · " + firstPlaceOf(c, variant)));
    // "=" and "-" take the next n characters of the first occurrence's text; "+" carries its own text.
    var at = 0;
    segments.forEach(function (segment) {
      var op = segment[0];
      if (op === "+") {
        right.appendChild(el("ins", null, segment[1]));
        return;
      }
      var text = c.text.slice(at, at + segment[1]);
      at += segment[1];
      if (op === "=") {
        left.appendChild(document.createTextNode(text));
        right.appendChild(document.createTextNode(text));
      } else {
        left.appendChild(el("del", null, text));
      }
    });
    view.appendChild(left);
    view.appendChild(right);
    return view;
  }

  var pending = null;
  controls.search.addEventListener("input", function () {
    clearTimeout(pending);
    pending = setTimeout(filter, 120);
  });
  ["kind", "scope", "minSize", "maxSize", "short", "sort"].forEach(function (name) {
    controls[name].addEventListener("change", filter);
  });
  controls.minSize.addEventListener("input", filter);
  controls.maxSize.addEventListener("input", filter);
  byId("prev").addEventListener("click", function () { state.page -= 1; render(); });
  byId("next").addEventListener("click", function () { state.page += 1; render(); window.scrollTo(0, byId("clusters").offsetTop); });
  filter();
  // At a glance: the first near cluster on the first page shows its differences without a click.
  var firstNear = byId("cluster-list").querySelector(".cluster.near details");
  if (firstNear) firstNear.open = true;
})();
