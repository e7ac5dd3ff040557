#!/usr/bin/env bash
# The build step of lamina's GitHub Action (action.yml): runs `lamina build` on the function(s)
# at $INPUT_PATH, appends the Markdown report to the job summary ($GITHUB_STEP_SUMMARY), sets
# the step's outputs ($GITHUB_OUTPUT: exit-code, report, out) and exits with lamina's exit code
# (0 ok, 1 a limit or finding failed, 2 bad input), so the job fails as lamina says.
#
# Inputs, as GitHub passes them to a composite action's step (see action.yml):
#   INPUT_PATH  a function folder, a folder with lamina.toml, or a SAM/Serverless template
#   INPUT_OUT   the output folder (default lamina-out)
#   INPUT_ARGS  more arguments for `lamina build`, split on spaces (e.g. "--shake files --smoke")
#   LAMINA      the lamina binary (default: lamina on PATH)
set -u

lamina="${LAMINA:-lamina}"
path="${INPUT_PATH:-.}"
out="${INPUT_OUT:-lamina-out}"
# Word splitting is wanted here: the input is a list of arguments.
# shellcheck disable=SC2206
args=(${INPUT_ARGS:-})

markdown="$(mktemp)"
trap 'rm -f "$markdown"' EXIT
"$lamina" build "$path" --out "$out" --format markdown "${args[@]}" >"$markdown"
code=$?

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  if [ -s "$markdown" ]; then
    cat "$markdown" >>"$GITHUB_STEP_SUMMARY"
  else
    # Bad input: lamina wrote nothing and said why on stderr (shown in the log).
    printf '## lamina\n\n`lamina build %s` stopped on bad input (exit %s); the step log says why.\n' \
      "$path" "$code" >>"$GITHUB_STEP_SUMMARY"
  fi
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "exit-code=$code"
    echo "out=$out"
    if [ -f "$out/report.json" ]; then
      echo "report=$out/report.json"
    else
      echo "report="
    fi
  } >>"$GITHUB_OUTPUT"
fi
# The log shows the same report as the summary.
cat "$markdown"
exit "$code"
