// The SPARQL workbench: YASGUI (vendored, see VENDOR.md) pointed at this server's /sparql, with every
// feature that would reach another site turned off: prefix lookups go to /prefixes.json (kg's own
// prefixes) instead of prefix.cc, and the class/property completers (which ask lov.linkeddata.es) are off.
"use strict";
(function () {
  var container = document.getElementById("yasgui");
  if (!container || !window.Yasgui) { return; }
  var endpoint = new URL(container.dataset.endpoint || "/sparql", window.location.href).href;
  var example = [
    "# People in the article and their roles (names in English and Chinese)",
    "SELECT ?person ?name_zh ?role ?organization WHERE {",
    "  ?membership org:member ?p ; org:role ?r ; org:organization ?o .",
    "  ?p rdfs:label ?person FILTER(lang(?person) = \"en\")",
    "  OPTIONAL { ?p rdfs:label ?name_zh FILTER(lang(?name_zh) = \"zh\") }",
    "  ?r rdfs:label ?role FILTER(lang(?role) = \"en\")",
    "  ?o rdfs:label ?organization FILTER(lang(?organization) = \"en\")",
    "} ORDER BY ?person"
  ].join("\n");

  Yasgui.Yasqe.defaults.autocompleters = ["prefixes", "variables"];
  Yasgui.Yasqe.defaults.prefixCcApi = new URL("/prefixes.json", window.location.href).href;
  var yasgui = new Yasgui(container, {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: endpoint }]; } },
    persistenceId: null,
    populateFromUrl: false,
    yasqe: { value: example, prefixCcApi: new URL("/prefixes.json", window.location.href).href },
    yasr: { prefixes: {} }
  });
  window.kgYasgui = yasgui;

  var select = document.getElementById("stored-query");
  if (select) {
    select.addEventListener("change", function () {
      var text = document.querySelector('#stored-texts textarea[data-name="' + CSS.escape(select.value) + '"]');
      if (text) { yasgui.getTab().getYasqe().setValue(text.value); }
    });
  }
})();
