// "Computed 4 s ago": keep the relative times on the dashboard current between recomputes.
(function () {
  function ago(seconds) {
    if (seconds < 60) return Math.max(0, Math.round(seconds)) + " s ago";
    if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.round(seconds / 3600) + " h ago";
    return Math.round(seconds / 86400) + " d ago";
  }
  // "Figures up to 2 minutes behind": the same words as the lag_words template filter.
  function behind(seconds) {
    var count = Math.max(1, Math.round(seconds)), unit = "second";
    if (count >= 60) {
      count = Math.round(seconds / 60); unit = "minute";
      if (count >= 60) {
        count = Math.round(seconds / 3600); unit = "hour";
        if (count >= 24) { count = Math.round(seconds / 86400); unit = "day"; }
      }
    }
    return count + " " + unit + (count === 1 ? "" : "s");
  }
  function tick() {
    document.querySelectorAll("time[data-ago]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) el.textContent = ago((Date.now() - at) / 1000);
    });
    document.querySelectorAll("time[data-behind]").forEach(function (el) {
      var since = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(since)) el.textContent = behind((Date.now() - since) / 1000);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSettle", tick);
  setInterval(tick, 1000);
})();
