/* smsportal staff portal: live fragments over server-sent events, AJAX forms, SMS text info.
   No framework; every page works without JavaScript (forms post, pages reload). */
(function () {
  "use strict";
  var body = document.body;
  var csrf = body.dataset.csrf;
  window.__portal = { events: [], refreshes: [] };

  // ---- choices that submit their form (no inline handlers: the Content-Security-Policy forbids them)
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // ---- live fragments -------------------------------------------------------------------
  var liveEls = Array.prototype.slice.call(document.querySelectorAll("[data-live][data-fragment-url]"));
  var timers = new WeakMap();

  // The box that scrolls: the live element itself (a thread, the phone), or a conversation inside
  // a live part (a Follow up item's page), which opens at its newest message too.
  function scrollBox(el) {
    if (el.classList.contains("thread") || el.classList.contains("phone-screen")) return el;
    return el.querySelector(".thread");
  }
  function scrollToEnd(el) {
    var box = scrollBox(el);
    if (box) box.scrollTop = box.scrollHeight;
  }
  liveEls.forEach(scrollToEnd);

  function refresh(el) {
    if (timers.get(el)) return;
    timers.set(el, setTimeout(function () {
      timers.delete(el);
      fetch(el.dataset.fragmentUrl, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null || html === el._html) return;
          var box = scrollBox(el) || el;
          var atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
          el.innerHTML = html;
          el._html = html;
          if (atEnd || !el._scrolled) { scrollToEnd(el); el._scrolled = true; }
          window.__portal.refreshes.push({ id: el.id, at: Date.now() });
        })
        .catch(function () { /* next event or reconnect retries */ });
    }, 60));
  }

  function concerns(el, name, data) {
    var wanted = el.dataset.live.split(",");
    if (!wanted.some(function (p) { return p && name.indexOf(p) === 0; })) return false;
    var entity = el.dataset.entity;
    if (!entity) return true;
    if (data.entityId === entity || data.patientId === entity) return true;
    var ids = [data.id, data.inboundMessageId, data.outboundMessageId];
    return ids.some(function (id) { return id && el.querySelector('[data-message-id="' + id + '"]'); });
  }

  var status = document.getElementById("live-status");
  function setStatus(ok) {
    if (!status) return;
    status.classList.toggle("on", ok);
    status.title = ok ? "Live updates: connected" : "Live updates: reconnecting";
  }

  if (status && !liveEls.length) status.hidden = true;
  if (liveEls.length && window.EventSource && body.dataset.liveUrl) {
    var source = new EventSource(body.dataset.liveUrl);
    source.onopen = function () { setStatus(true); liveEls.forEach(refresh); };
    source.onerror = function () { setStatus(false); };
    ["inbound.message", "outbound.status", "outbound.message", "plugin.invocation",
     "dose.reminded", "dose.confirmed", "dose.missed", "followup.opened", "followup.changed"].forEach(function (name) {
      source.addEventListener(name, function (e) {
        var payload = {};
        try { payload = JSON.parse(e.data); } catch (err) { return; }
        var data = payload.data || {};
        window.__portal.events.push({ event: name, at: Date.now() });
        liveEls.forEach(function (el) { if (concerns(el, name, data)) refresh(el); });
      });
    });
  }

  // ---- AJAX forms (send box, phone simulator) --------------------------------------------
  document.querySelectorAll("form[data-ajax]").forEach(function (form) {
    // An error is about the text that was sent: once the text changes it no longer applies.
    form.addEventListener("input", function () {
      var shown = form.querySelector("[data-error]");
      if (shown && !shown.hidden) { shown.hidden = true; shown.textContent = ""; }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var error = form.querySelector("[data-error]");
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-CSRFToken": csrf, Accept: "application/json" }
      }).then(function (r) {
        return r.json().catch(function () { return { error: "the server answered " + r.status }; })
          .then(function (data) { return { ok: r.ok, data: data }; });
      }).then(function (res) {
        if (!res.ok) { error.textContent = res.data.error || "not sent"; error.hidden = false; return; }
        error.hidden = true;
        form.querySelectorAll("textarea, input[name=text]").forEach(function (f) { f.value = ""; f.dispatchEvent(new Event("input")); });
        liveEls.forEach(refresh);
      }).catch(function () {
        error.textContent = "network error: not sent"; error.hidden = false;
      }).finally(function () { if (button) button.disabled = false; });
    });
  });

  // ---- encoding and segments as you type (the server's own rules, messaging.text) --------
  document.querySelectorAll("textarea[data-text-info]").forEach(function (area) {
    var out = document.querySelector(area.dataset.textInfo);
    var timer = null;
    function update() {
      var data = new FormData();
      data.append("text", area.value);
      fetch("/portal/text-info", { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrf } })
        .then(function (r) { return r.json(); })
        .then(function (info) {
          var s = info.segments === 1 ? "segment" : "segments";
          var text = info.encoding + " · " + info.segments + " " + s + " · " + info.units + " of " + info.perSegment * Math.max(info.segments, 1) + " characters";
          if (info.encoding === "UCS-2" && area.value) text += " (a character outside GSM-7 makes it Unicode)";
          if (info.segments > info.maxSegments) text += " · too long: the limit is " + info.maxSegments + " segments";
          out.textContent = text;
          out.classList.toggle("warn", info.encoding === "UCS-2" || info.segments > 1);
          out.dataset.encoding = info.encoding;
          out.dataset.segments = info.segments;
        }).catch(function () {});
    }
    area.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 120); });
    update();
  });

  // ---- client-side filter of long checkbox lists ----------------------------------------
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase();
      document.querySelectorAll(input.dataset.filter).forEach(function (el) {
        el.hidden = q && el.textContent.toLowerCase().indexOf(q) === -1;
      });
    });
  });
})();
