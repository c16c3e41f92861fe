// On a phone the team menu starts closed behind its "Menu" button; without script it stays open.
// Loaded right after the menu (not deferred), so it closes before the page is painted.
(function (menu) {
  if (menu && window.matchMedia("(max-width: 720px)").matches) menu.open = false;
})(document.currentScript && document.currentScript.previousElementSibling);
