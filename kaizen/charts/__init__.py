"""Server-rendered SVG charts as plain data: `xmr` for every XmR chart, `spark` for sparklines."""
