/* Draws every element with data-figure (plotly JSON) in the page's locale (data-locale). */
(function () {
  if (!window.Plotly) { return; }
  var charts = document.querySelectorAll('[data-figure]');
  for (var i = 0; i < charts.length; i++) {
    var el = charts[i];
    var fig = JSON.parse(el.dataset.figure);
    Plotly.newPlot(el, fig.data, fig.layout,
                   {displaylogo: false, responsive: true, locale: el.dataset.locale || 'en'});
  }
})();
