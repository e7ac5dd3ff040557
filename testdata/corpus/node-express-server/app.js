//! lamina corpus app: the express application, shared by the Lambda entry point and a local server.
'use strict';

const express = require('express');
const { eventContext } = require('aws-serverless-express/middleware');

const app = express();
const router = express.Router();

app.disable('x-powered-by');
app.use(express.json());
app.use(express.urlencoded({ extended: true }));
// Puts the API Gateway event and the Lambda context on the request.
app.use(eventContext());

const pets = [
  { id: 1, name: 'Biscuit', kind: 'dog' },
  { id: 2, name: 'Mistral', kind: 'cat' },
];

router.get('/pets', (req, res) => {
  const kind = req.query.kind;
  res.json(kind ? pets.filter((pet) => pet.kind === kind) : pets);
});

router.post('/pets', (req, res) => {
  const pet = { id: pets.length + 1, name: String(req.body.name), kind: String(req.body.kind) };
  res.status(201).json({
    pet,
    stage: req.apiGateway.event.requestContext.stage,
    requestId: req.apiGateway.context.awsRequestId,
  });
});

router.get('/pets/:id', (req, res) => {
  const pet = pets.find((candidate) => candidate.id === Number(req.params.id));
  if (!pet) {
    res.status(404).json({ message: `no pet ${req.params.id}` });
    return;
  }
  res.type('text/plain').send(`${pet.name} the ${pet.kind}`);
});

app.use('/', router);

module.exports = app;
