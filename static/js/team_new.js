// New team form: suggest the short name from the team name until the user types one of their own.
(function () {
  var name = document.getElementById("id_name"), slug = document.getElementById("id_slug");
  if (!name || !slug) return;
  var edited = slug.value !== "";
  slug.addEventListener("input", function () { edited = slug.value !== ""; });
  name.addEventListener("input", function () {
    if (edited) return;
    slug.value = name.value.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50);
  });
})();
