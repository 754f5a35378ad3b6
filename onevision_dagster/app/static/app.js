// Draws the charts of a page: each element with a data-figure attribute holds a plotly figure as JSON.
// The only script of the application; every page works without it (the tables hold the same figures).
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  if (typeof Plotly === "undefined") { return; }
  document.querySelectorAll("[data-figure]").forEach(function (element) {
    var figure = JSON.parse(element.getAttribute("data-figure"));
    Plotly.newPlot(element, figure.data, figure.layout, {
      displaylogo: false, responsive: true, locale: "fr",
      modeBarButtonsToRemove: ["sendDataToCloud", "lasso2d", "select2d"]
    });
  });
});
