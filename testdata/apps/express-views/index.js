//! lamina e2e app: an express app rendering an ejs view behind serverless-http. express loads the
//! engine by a computed require (`require(mod)` in lib/view.js) and ejs reads the view and its
//! partial from views/ at run time; moment formats dates with its French locale.
const path = require('node:path');
const express = require('express');
const serverless = require('serverless-http');
const moment = require('moment');
require('moment/locale/fr');

moment.locale('fr');

const app = express();
app.set('view engine', 'ejs');
app.set('views', path.join(__dirname, 'views'));
// No ETag or X-Powered-By: the answer must be the same bytes from any folder.
app.set('etag', false);
app.disable('x-powered-by');

app.get('/invoices/:id', (req, res) => {
  const issued = moment.utc(req.query.issued);
  const lines = JSON.parse(req.query.lines);
  res.render('invoice', {
    id: req.params.id,
    customer: req.query.customer,
    issued: issued.format('dddd D MMMM YYYY'),
    due: issued.clone().add(30, 'days').format('LL'),
    lines,
    total: lines.reduce((sum, line) => sum + line.qty * line.price, 0).toFixed(2),
  });
});

exports.handler = serverless(app);
