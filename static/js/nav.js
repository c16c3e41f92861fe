// The top bar's "My teams" menu closes like a menu: on a click elsewhere and on Escape.
(function () {
  "use strict";
  function closeAll(except) {
    document.querySelectorAll("details[data-nav-drop][open]").forEach(function (drop) {
      if (drop !== except) drop.open = false;
    });
  }
  document.addEventListener("click", function (event) {
    closeAll(event.target.closest("details[data-nav-drop]"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector("details[data-nav-drop][open]");
    if (open) {
      open.open = false;
      open.querySelector("summary").focus();
    }
  });
})();
