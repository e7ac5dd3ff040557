module.exports = "kept by a re-include";
