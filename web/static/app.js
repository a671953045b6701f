// The pages work without this script; it adds a live word counter, the
// countdown in the reader's own time zone, and upload progress.
(function () {
  "use strict";
  function words(s) { var m = s.trim().match(/\S+/g); return m ? m.length : 0; }

  document.querySelectorAll("textarea[data-limit]").forEach(function (ta) {
    var counter = document.getElementById(ta.id + "-count");
    if (!counter) return;
    var limit = parseInt(ta.dataset.limit, 10);
    function update() {
      var n = words(ta.value);
      counter.textContent = n + " / " + limit + " " + counter.dataset.words + (n > limit ? " — " + counter.dataset.over : "");
      counter.classList.toggle("over", n > limit);
    }
    ta.addEventListener("input", update);
    update();
  });

  document.querySelectorAll(".local-time").forEach(function (el) {
    var at = new Date(el.getAttribute("datetime"));
    // dateStyle and timeStyle cannot go with timeZoneName (a TypeError that
    // would stop this whole script): name the parts instead.
    el.textContent = at.toLocaleString(document.documentElement.lang, {
      weekday: "long", year: "numeric", month: "long", day: "numeric",
      hour: "numeric", minute: "2-digit", timeZoneName: "short"
    });
    document.querySelectorAll(".local").forEach(function (p) { p.hidden = false; });
  });

  document.querySelectorAll(".countdown[data-close]").forEach(function (box) {
    var close = new Date(box.dataset.close), out = box.querySelector(".left-value"), wrap = box.querySelector(".left");
    if (!out) return;
    wrap.hidden = false;
    function tick() {
      var ms = close - Date.now();
      if (ms <= 0) { out.textContent = box.dataset.expired; return; }
      var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
      var u = (box.dataset.units || "d|h|min|s").split("|");
      out.textContent = (d ? d + " " + u[0] + " " : "") + h + " " + u[1] + " " + (m < 10 ? "0" : "") + m + " " + u[2] + " " + (s % 60 < 10 ? "0" : "") + (s % 60) + " " + u[3];
      setTimeout(tick, 1000);
    }
    tick();
  });

  document.querySelectorAll("form.upload").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.FormData || !window.XMLHttpRequest) return;
      ev.preventDefault();
      var bar = form.querySelector("progress"), xhr = new XMLHttpRequest();
      bar.hidden = false;
      xhr.upload.addEventListener("progress", function (e) { if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total); });
      xhr.addEventListener("load", function () {
        if (xhr.status < 400) { window.location.assign(xhr.responseURL); return; }
        document.open(); document.write(xhr.responseText); document.close();
        // The address still says what the page before said (?notice=uploaded
        // after an earlier upload): a reload must not claim this file went in.
        window.history.replaceState(null, "", window.location.pathname);
      });
      xhr.addEventListener("error", function () { form.submit(); });
      xhr.open("POST", form.action);
      xhr.send(new FormData(form));
    });
  });
})();
