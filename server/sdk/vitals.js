/*! Sightline browser SDK: reports a page's Web Vitals (LCP, INP, CLS, FCP, TTFB), its
 * uncaught JavaScript errors and its failed API calls to Sightline. One tag:
 *
 *   <script async src="https://sightline.example.com/sdk/vitals.js"
 *           data-key="sl_..." data-site="shop"></script>
 *
 * data-key       a key with the browser scope (public: it can do nothing else)
 * data-site      the site's name in Sightline (default: the page's host name)
 * data-endpoint  where to report (default: this script's origin + /api/v1/vitals)
 *
 * Vitals follow web.dev's definitions: LCP until the first input, CLS as the largest
 * session window of layout shifts, INP as the 98th percentile of interaction latencies.
 * They are sent once, when the page is first hidden; errors within two seconds. The
 * reporting origin must be listed in Sightline's --browser-origins. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.sightlineVitals || !window.JSON) return;
  var data = script.dataset || {};
  var endpoint = data.endpoint || new URL("/api/v1/vitals", script.src).href;
  var key = data.key || null;
  var site = data.site || null;
  var page = location.pathname;
  var MAX_ERRORS = 25;
  var queue = [];
  var vitals = {};
  var sent = {};
  var seenErrors = {};
  var errorCount = 0;
  var timer = null;
  var origFetch = window.fetch;

  function send(events) {
    var body = JSON.stringify({ key: key, site: site, events: events });
    var ok = false;
    try {
      ok = !!navigator.sendBeacon &&
        navigator.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }));
    } catch (e) { ok = false; }
    if (!ok && origFetch) {
      try {
        origFetch.call(window, endpoint, {
          method: "POST", body: body, keepalive: true,
          headers: { "content-type": "text/plain" }
        }).catch(function () {});
      } catch (e) { /* reporting must never break the page */ }
    }
  }

  function flush(final) {
    if (timer) { clearTimeout(timer); timer = null; }
    if (final) {
      for (var name in vitals) {
        if (!sent[name]) {
          sent[name] = true;
          var v = vitals[name];
          queue.push({ type: "vital", name: name, page: page,
                       value: name === "CLS" ? Math.round(v * 10000) / 10000 : Math.round(v * 10) / 10 });
        }
      }
    }
    while (queue.length) send(queue.splice(0, 100));
  }

  function soon() {
    if (!timer) timer = setTimeout(function () { flush(false); }, 2000);
  }

  function report(event, dedupeKey) {
    if (errorCount >= MAX_ERRORS || seenErrors[dedupeKey]) return;
    seenErrors[dedupeKey] = true;
    errorCount++;
    event.page = location.pathname;
    queue.push(event);
    soon();
  }

  function observe(type, callback, options) {
    try {
      if (!PerformanceObserver.supportedEntryTypes ||
          PerformanceObserver.supportedEntryTypes.indexOf(type) < 0) return false;
      var o = new PerformanceObserver(function (list) { callback(list.getEntries()); });
      var opts = { type: type, buffered: true };
      for (var k in options || {}) opts[k] = options[k];
      o.observe(opts);
      return true;
    } catch (e) { return false; }
  }

  var nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
  var activation = (nav && nav.activationStart) || 0;
  var visibleAtLoad = document.visibilityState !== "hidden";

  if (nav && nav.responseStart > 0) {
    vitals.TTFB = Math.max(nav.responseStart - activation, 0);
  }
  if (visibleAtLoad) {
    observe("paint", function (entries) {
      entries.forEach(function (e) {
        if (e.name === "first-contentful-paint") vitals.FCP = Math.max(e.startTime - activation, 0);
      });
    });
    var lcpDone = false;
    observe("largest-contentful-paint", function (entries) {
      if (lcpDone || !entries.length) return;
      vitals.LCP = Math.max(entries[entries.length - 1].startTime - activation, 0);
    });
    ["keydown", "pointerdown"].forEach(function (t) {
      addEventListener(t, function () { lcpDone = true; }, { once: true, capture: true });
    });
  }

  var cls = 0, windowValue = 0, windowEntries = [];
  if (observe("layout-shift", function (entries) {
    entries.forEach(function (e) {
      if (e.hadRecentInput) return;
      var first = windowEntries[0], last = windowEntries[windowEntries.length - 1];
      if (windowValue && e.startTime - last.startTime < 1000 && e.startTime - first.startTime < 5000) {
        windowValue += e.value;
        windowEntries.push(e);
      } else {
        windowValue = e.value;
        windowEntries = [e];
      }
      if (windowValue > cls) cls = windowValue;
    });
    vitals.CLS = cls;
  })) vitals.CLS = cls;

  var interactions = {};
  function interaction(e) {
    var id = e.interactionId || (e.entryType === "first-input" ? "first" : null);
    if (id === null) return;
    if (!(id in interactions) || e.duration > interactions[id]) interactions[id] = e.duration;
    var all = Object.keys(interactions).map(function (k) { return interactions[k]; })
      .sort(function (a, b) { return b - a; });
    // The 98th percentile: the worst, ignoring one in every fifty.
    vitals.INP = all[Math.min(all.length - 1, Math.floor(all.length / 50))];
  }
  observe("event", function (entries) { entries.forEach(interaction); }, { durationThreshold: 40 });
  observe("first-input", function (entries) { entries.forEach(interaction); });

  addEventListener("error", function (e) {
    if (!e.message && !e.error) return; // a resource failing to load, not a script error
    var err = e.error || {};
    var message = e.message || err.message || String(e.error);
    var source = e.filename ? e.filename + ":" + e.lineno + ":" + e.colno : null;
    report({ type: "error", message: message, stack: err.stack || null, source: source },
           message + "|" + (source || ""));
  });
  addEventListener("unhandledrejection", function (e) {
    var r = e.reason;
    var message = "Unhandled rejection: " + ((r && r.message) || String(r));
    report({ type: "error", message: message, stack: (r && r.stack) || null }, message);
  });

  function failed(method, url, status, started) {
    var href;
    try { href = new URL(url, location.href).href; } catch (e) { return; }
    if (href.indexOf(endpoint) === 0) return;
    method = String(method || "GET").toUpperCase();
    report({ type: "api", method: method, url: href, status: status,
             duration_ms: Math.round((performance.now() - started) * 10) / 10 },
           method + " " + href.split("?")[0] + " " + status);
  }
  if (origFetch) {
    window.fetch = function (input, init) {
      var started = performance.now();
      var method = (init && init.method) || (input && input.method) || "GET";
      var url = typeof input === "string" ? input : (input && input.url) || String(input);
      var p = origFetch.apply(window, arguments);
      p.then(function (r) {
        if (r.status >= 400) failed(method, url, r.status, started);
      }, function (err) {
        if (!err || err.name !== "AbortError") failed(method, url, 0, started);
      });
      return p;
    };
  }
  if (window.XMLHttpRequest) {
    var open = XMLHttpRequest.prototype.open;
    var xsend = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.open = function (method, url) {
      this.__sl = { method: method, url: String(url) };
      return open.apply(this, arguments);
    };
    XMLHttpRequest.prototype.send = function () {
      var xhr = this, info = xhr.__sl;
      if (info) {
        var started = performance.now();
        xhr.addEventListener("loadend", function () {
          if (xhr.status >= 400 || xhr.status === 0) failed(info.method, info.url, xhr.status, started);
        });
      }
      return xsend.apply(this, arguments);
    };
  }

  addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush(true);
  }, true);
  addEventListener("pagehide", function () { flush(true); }, true);

  window.sightlineVitals = { flush: function () { flush(true); } };
})();
