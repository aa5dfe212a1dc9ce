#!/usr/bin/env bash
# The consumer test: DqMlNet used the way a .NET team uses it, from packages, outside the repository's build.
#
#  1. docs         docs/install.md and docs/package-readme.md print the README's two snippets unchanged.
#  2. pack         docs/install.md's pack command fills a temporary feed; the packages hold what a consumer needs
#                  (buildTransitive native fix, readme, XML docs, license, repository commit) and a .snupkg each.
#  3. consumer     a console app in a temporary folder with no Directory.Build.* above it, install.md's
#                  `dotnet nuget add source` / `dotnet add package` lines (feed + the normal sources), Program.cs = the
#                  README's pipeline and robustness snippets verbatim (extracted here, so README and test cannot drift)
#                  + tests/Consumer/Harness.cs; built: the package's targets must patch TorchSharp's native library.
#  4. snippets     the app runs the snippets on a generated image folder (fit, Model.Save, EvaluateRobustness, report);
#                  the robustness snippet's options are wrapped in ConsumerHarness.Tiny: same suite and ε, tiny budget.
#  5. reload       the app is published (the package's publish-time fix) and the published app, a second process, loads
#                  the zip (plain ml.Model.Load and typed) and must reproduce the first process's predictions.
#  6. dq-publish   install.md's `dotnet publish samples/DqCli` command; `dq --help` and `dq export` of the zip run from
#                  the publish folder.
#  7. service-publish  install.md's `dotnet publish samples/ScoringService` and run commands; /health and /predict.
#
# Prints "consumer-test: PASS|FAIL <step>" per step; with DQ_CONSUMER_RESULTS=<file> also writes "passed N" and
# "failed N" there for .ci/run's totals. A failed step fails every later one (they build on it). Temporary folders
# (feed, app, publish outputs: each publish holds ~1 GB of LibTorch) and the test's packages in the NuGet cache are
# deleted at the end; only one publish folder exists at a time.
set -uo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

steps=(docs pack consumer snippets reload dq-publish service-publish)
work="$(mktemp -d "${TMPDIR:-/tmp}/dqmlnet-consumer.XXXXXX")"
feed="$work/feed"
app="$work/ConsumerApp"
run="$work/run"
base_version="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -n 1)"
version="${base_version:-0.1.0}-consumertest.$(date -u +%Y%m%d%H%M%S).$$"
packages_dir="$(dotnet nuget locals global-packages --list 2>/dev/null | sed -n 's/^global-packages: *//p')"
packages_dir="${packages_dir:-$HOME/.nuget/packages}"
service_pid=""

cleanup() {
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  rm -rf "$work"
  # The packages restored from the temporary feed went into the global cache under this run's unique version.
  for d in "$packages_dir"/dqmlnet.*/"$version"; do [ -e "$d" ] && rm -rf "$d"; done
  rmdir "$packages_dir"/dqmlnet.* 2>/dev/null   # ids left empty (only this test put them there)
  return 0
}
trap cleanup EXIT

fail() { echo "consumer-test: $*" >&2; return 1; }

# The first ```csharp block after the first heading that contains $2, from file $1.
snippet() {
  awk -v h="$2" '
    !found && /^#/ && index($0, h) { found = 1; next }
    found && !inside && /^```csharp/ { inside = 1; next }
    inside && /^```/ { exit }
    inside { print }' "$1"
}

# The first line of a code block in docs/install.md that starts with $1, without a trailing "  # comment".
doc_command() {
  awk -v p="$1" '
    /^```/ { inside = !inside; next }
    inside && index($0, p) == 1 { sub(/  +#.*$/, ""); print; exit }' docs/install.md
}

step_docs() {
  local name file pipeline robustness
  pipeline="$(snippet README.md "An ML.NET pipeline")"
  robustness="$(snippet README.md "Robustness next to accuracy")"
  [ -n "$pipeline" ] && [ -n "$robustness" ] || fail "README.md has no pipeline or robustness snippet" || return 1
  for file in docs/install.md docs/package-readme.md; do
    [ "$(snippet "$file" "An ML.NET pipeline")" == "$pipeline" ] || fail "$file: the pipeline snippet differs from README.md's" || return 1
    [ "$(snippet "$file" "Robustness next to accuracy")" == "$robustness" ] || fail "$file: the robustness snippet differs from README.md's" || return 1
  done
  for name in "dotnet pack build/" "dotnet nuget add source" "dotnet add package DqMlNet.Trainers" \
              "dotnet add package DqMlNet.Evaluators" "dotnet publish samples/ScoringService" "dotnet publish samples/DqCli" \
              "out/scoring-service/ScoringService" "out/dq/dq"; do
    [ -n "$(doc_command "$name")" ] || fail "docs/install.md has no command starting with '$name'" || return 1
  done
  grep -q '^dotnet add package DqMlNet.Trainers' README.md && grep -q '^dotnet add package DqMlNet.Evaluators' README.md \
    || fail "README.md's install path lacks the dotnet add package lines" || return 1
}

step_pack() {
  local cmd pkg id listing
  cmd="$(doc_command "dotnet pack build/")"
  cmd="${cmd//\~\/dqmlnet-feed/$feed}"
  echo "+ $cmd -p:PackageVersion=$version"
  eval "$cmd -p:PackageVersion=$version -v:q -nologo" || fail "pack failed" || return 1
  for id in DqMlNet.Core DqMlNet.Transforms DqMlNet.Trainers DqMlNet.Evaluators DqMlNet.Evaluators.Plots; do
    pkg="$feed/$id.$version.nupkg"
    [ -f "$pkg" ] || fail "$pkg was not produced" || return 1
    [ -f "$feed/$id.$version.snupkg" ] || fail "$id has no .snupkg" || return 1
    listing="$(unzip -l "$pkg")"
    for f in "lib/net10.0/$id.dll" "lib/net10.0/$id.xml" "README.md"; do
      grep -q " $f\$" <<<"$listing" || fail "$id: $f missing from the package" || return 1
    done
    unzip -p "$pkg" "$id.nuspec" > "$work/$id.nuspec"
    grep -q '<license type="expression">MIT</license>' "$work/$id.nuspec" || fail "$id: no MIT license expression" || return 1
    grep -q '<readme>README.md</readme>' "$work/$id.nuspec" || fail "$id: no package readme" || return 1
    grep -Eq '<repository type="git" url="https://github.com/[^"]+" (branch="[^"]*" )?commit="[0-9a-f]{40}"' "$work/$id.nuspec" \
      || fail "$id: no repository url + commit" || return 1
    # Nothing of the repository's own build may travel, except the native fix in DqMlNet.Core.
    if [ "$id" != DqMlNet.Core ]; then
      ! grep -Eq ' (build|buildTransitive|buildMultiTargeting)/' <<<"$listing" || fail "$id carries build assets" || return 1
    fi
  done
  listing="$(unzip -l "$feed/DqMlNet.Core.$version.nupkg")"
  for f in buildTransitive/DqMlNet.Core.targets buildTransitive/ElfVersionNeeds.cs build/DqMlNet.Core.targets; do
    grep -q " $f\$" <<<"$listing" || fail "DqMlNet.Core: $f missing" || return 1
  done
  [ "$(grep -Ec ' (build|buildTransitive)/' <<<"$listing")" -eq 3 ] || fail "DqMlNet.Core carries unexpected build assets" || return 1
  unzip -l "$feed/DqMlNet.Core.$version.nupkg"
}

step_consumer() {
  local dir cmd
  mkdir -p "$app"
  # A consumer's folder has no Directory.Build.* / Directory.Packages.props of ours above it.
  dir="$app"
  while [ "$dir" != / ]; do
    for f in Directory.Build.props Directory.Build.targets Directory.Packages.props; do
      [ ! -e "$dir/$f" ] || fail "$dir/$f would leak into the consumer app" || return 1
    done
    dir="$(dirname "$dir")"
  done
  (cd "$app" && dotnet new console --framework net10.0 --name ConsumerApp --output . >/dev/null) || fail "dotnet new console failed" || return 1
  # The feed is added to a nuget.config of the app's own (the normal sources still come from the user's config).
  printf '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <packageSources />\n</configuration>\n' > "$app/nuget.config"
  cmd="$(doc_command "dotnet nuget add source")"
  cmd="${cmd//\~\/dqmlnet-feed/$feed} --configfile nuget.config"
  (cd "$app" && echo "+ $cmd" && eval "$cmd") || fail "dotnet nuget add source failed" || return 1
  for id in DqMlNet.Trainers DqMlNet.Evaluators; do
    cmd="$(doc_command "dotnet add package $id") --version $version"
    (cd "$app" && echo "+ $cmd" && eval "$cmd" >/dev/null) || fail "'$cmd' failed" || return 1
  done
  # DqMlNet.Core (and with it the native fix) must arrive transitively.
  if grep -q 'Include="DqMlNet.Core"' "$app/ConsumerApp.csproj"; then fail "the app references DqMlNet.Core directly"; return 1; fi

  # Program.cs: the snippets' using lines first (C# wants them at the top), then the snippets' code unchanged.
  {
    echo "// Generated by tests/Consumer/run.sh from README.md's snippets."
    { snippet README.md "An ML.NET pipeline"; snippet README.md "Robustness next to accuracy"; } | grep -E '^using ' | sort -u
    echo 'if (args.Length > 0) return ConsumerHarness.Run(args);'
    snippet README.md "An ML.NET pipeline" | grep -Ev '^using '
    # The robustness snippet as printed, its options wrapped in ConsumerHarness.Tiny (same suite and ε, tiny budget).
    snippet README.md "Robustness next to accuracy" | grep -Ev '^using ' \
      | sed -E 's/(new RobustnessOptions \{.*\})\);[[:space:]]*$/ConsumerHarness.Tiny(\1));/'
    echo 'return ConsumerHarness.AfterSnippets(ml, model, testView, metrics);'
  } > "$app/Program.cs"
  grep -q 'ConsumerHarness.Tiny(new RobustnessOptions' "$app/Program.cs" \
    || echo "consumer-test: warning: the robustness snippet's options are not on one line; it runs with its full attack budget"
  cp tests/Consumer/Harness.cs "$app/Harness.cs"
  echo "--- Program.cs"; cat "$app/Program.cs"; echo "---"
  (cd "$app" && dotnet build -c Release -v:n -nologo > "$work/build.log" 2>&1) || { tail -n 40 "$work/build.log"; fail "the consumer app does not build"; return 1; }
  grep -E 'warning|DqMlNet:' "$work/build.log" | sort -u | head -n 20
  if grep -q 'DqMlNet: marked GLIBCXX_3.4.32 weak' "$work/build.log"; then
    echo "consumer-test: the package's buildTransitive targets patched TorchSharp's native library"
  else
    echo "consumer-test: the native library needed no patch here (this machine's libstdc++ has GLIBCXX_3.4.32)"
  fi
}

step_snippets() {
  mkdir -p "$run"
  (cd "$run" && dotnet "$app/bin/Release/net10.0/ConsumerApp.dll" gen images) || fail "generating the image folder failed" || return 1
  (cd "$run" && dotnet "$app/bin/Release/net10.0/ConsumerApp.dll") || fail "the README snippets failed in the consumer app" || return 1
  ls -la "$run" "$run/artifacts"
}

step_reload() {
  (cd "$app" && dotnet publish -c Release -o "$work/app-publish" -v:n -nologo > "$work/publish.log" 2>&1) \
    || { tail -n 40 "$work/publish.log"; fail "publishing the consumer app failed"; return 1; }
  grep -q 'DqMlNet: marked GLIBCXX_3.4.32 weak' "$work/publish.log" || fail "the package's publish-time fix did not run" || return 1
  # The build output is not needed any more: keep one LibTorch copy at a time.
  rm -rf "$app/bin" "$app/obj"
  (cd "$run" && "$work/app-publish/ConsumerApp" predict dq4.zip expected.tsv) || fail "the second process did not reproduce the predictions" || return 1
  rm -rf "$work/app-publish"
}

step_dq_publish() {
  local cmd out="$work/dq"
  cmd="$(doc_command "dotnet publish samples/DqCli")"
  cmd="${cmd//out\/dq/$out}"
  echo "+ $cmd"
  eval "$cmd -v:q -nologo" || fail "publishing the dq CLI failed" || return 1
  cmd="$(doc_command "out/dq/dq")"
  cmd="${cmd//out\/dq/$out}"
  (cd "$work" && eval "$cmd" > "$work/dq-help.txt") || fail "'$cmd' failed" || return 1
  grep -q 'export' "$work/dq-help.txt" || fail "dq --help does not list its commands" || return 1
  # A command that loads TorchSharp (typed load of the zip): the published native library must load here.
  "$out/dq" export "$run/dq4.zip" -o "$work/dq4.onnx" || fail "dq export from the publish folder failed" || return 1
  [ -s "$work/dq4.onnx" ] || fail "dq export wrote no ONNX file" || return 1
  rm -rf "$out"
}

step_service_publish() {
  local cmd out="$work/scoring-service" url="" i image
  cmd="$(doc_command "dotnet publish samples/ScoringService")"
  cmd="${cmd//out\/scoring-service/$out}"
  echo "+ $cmd"
  eval "$cmd -v:q -nologo" || fail "publishing the scoring service failed" || return 1
  cmd="$(doc_command "out/scoring-service/ScoringService")"
  cmd="${cmd//out\/scoring-service/$out}"
  cmd="${cmd//dq4.zip/$run/dq4.zip}"
  cmd="${cmd//http:\/\/0.0.0.0:8080/http://127.0.0.1:0}"   # a free port, read back from the log
  echo "+ $cmd"
  # exec: the background job becomes the service itself, so killing $service_pid stops the service (a plain eval would
  # leave it running as the orphaned child of the killed subshell).
  eval "exec $cmd" > "$work/service.log" 2>&1 < /dev/null &
  service_pid=$!
  for i in $(seq 1 120); do
    url="$(sed -n 's/.*Now listening on: \(http:[^ ]*\).*/\1/p' "$work/service.log" | head -n 1)"
    [ -n "$url" ] && break
    kill -0 "$service_pid" 2>/dev/null || break
    sleep 0.5
  done
  [ -n "$url" ] || { cat "$work/service.log"; fail "the published scoring service did not start"; return 1; }
  curl -fsS "$url/health" || fail "GET /health failed" || return 1
  echo
  image="$(ls "$run"/images/test/*/*.png | head -n 1)"
  curl -fsS --data-binary @"$image" -H "Content-Type: image/png" "$url/predict" > "$work/predict.json" \
    || { cat "$work/service.log"; fail "POST /predict failed"; return 1; }
  cat "$work/predict.json"; echo
  grep -Eq '"label": *"(across|down|frame)"' "$work/predict.json" || fail "POST /predict returned no class label" || return 1
  kill "$service_pid"; wait "$service_pid" 2>/dev/null; service_pid=""
  rm -rf "$out"
}

passed=0; failed=0; broken=""
for s in "${steps[@]}"; do
  start=$SECONDS
  if [ -n "$broken" ]; then
    echo "consumer-test: FAIL $s (not run: '$broken' failed)"
    failed=$((failed + 1)); continue
  fi
  echo "consumer-test: --- $s"
  if "step_${s//-/_}"; then
    echo "consumer-test: PASS $s ($((SECONDS - start)) s)"
    passed=$((passed + 1))
  else
    echo "consumer-test: FAIL $s ($((SECONDS - start)) s)"
    failed=$((failed + 1)); broken="$s"
  fi
done
echo "consumer-test: $passed passed, $failed failed"
if [ -n "${DQ_CONSUMER_RESULTS:-}" ]; then
  printf 'passed %d\nfailed %d\n' "$passed" "$failed" > "$DQ_CONSUMER_RESULTS"
fi
[ "$failed" -eq 0 ]
