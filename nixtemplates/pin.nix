# The value of one pin for Nix's commands, shared by the all-pins bundle (lib.nix)
# and the one-name bundles (URL/p/NAME): a derivation-like package and an app.
{
  system,
  # Overrides how a store path becomes a value (see default.nix).
  storePath ? null,
  # { substituter; cache? }: where the paths come from.
  meta,
}:
let
  b = builtins;
  atLeast = v: b.compareVersions b.nixVersion v >= 0;
  pure = !(b ? currentSystem);
  # fetchClosure learnt inputAddressed in Nix 2.17; Lix removed the primop.
  canFetchClosure = b ? fetchClosure && atLeast "2.17";
  # Before Nix 2.16 an app's program must come from a derivation's output: a bare
  # store path in its context trips an assertion in Nix.
  needsDrv = !(atLeast "2.16");

  # The pinned path as a string whose context makes Nix substitute it. Pure
  # evaluation forbids builtins.storePath. fetchClosure fetches the closure from
  # the bundle's cache, when that one cache holds it all (an entry's "closure" is
  # "split" when upstream caches hold part of it) and told whether the path is
  # content-addressed ("ca"). Elsewhere appendContext gives the same string: Nix
  # substitutes the path from its configured substituters, as storePath does. The
  # value never depends on settings, so Nix's eval cache cannot remember a failure
  # that another setting would not have.
  realise =
    pin:
    if storePath != null then
      storePath pin.path
    else if pure && canFetchClosure && (pin.closure or "complete") != "split" then
      b.fetchClosure {
        fromStore = meta.substituter;
        fromPath = pin.path;
        inputAddressed = !(pin.ca or false);
      }
    else if pure then
      b.appendContext pin.path { ${pin.path}.path = true; }
    else
      b.storePath pin.path;

  # A real derivation for where Nix must build one (nix build, nix-build,
  # nix profile, nix-env): a local symlink tree of the pin's contents that
  # builtin:buildenv makes in milliseconds, with nothing to build remotely.
  wrap =
    storeName: path:
    derivation {
      # The JSON string has no context; a name must not refer to a store path.
      name = storeName;
      system = "builtin";
      builder = "builtin:buildenv";
      manifest = b.toFile "env-manifest" "[]";
      derivations = [
        "true"
        5
        1
        path
      ];
      preferLocalBuild = true;
      allowSubstitutes = false;
    };

  from = if meta.cache or "" != "" then "the Cachix cache ${meta.cache}" else meta.substituter;

  # What each name is for Nix's commands: a derivation whose outPath is the pinned
  # path itself (what `${pin}` and consumers' builds refer to) and whose drvPath is
  # the wrapper, forced only by commands that build (see README "How it works").
  package =
    name: pin:
    let
      storeName = b.substring 44 (b.stringLength pin.path) pin.path;
      parsed = b.parseDrvName storeName;
      self = {
        type = "derivation";
        name = storeName;
        pname = parsed.name;
        inherit system;
        outPath = realise pin;
        drvPath = (wrap storeName self.outPath).drvPath;
        outputs = [ "out" ];
        outputName = "out";
        out = self;
        all = [ self ];
        meta = {
          description =
            "Pin ${name}${if pin ? revision then " (revision ${toString pin.revision})" else ""} of ${from}";
          outputsToInstall = [ "out" ];
        }
        // (if pin ? program then { mainProgram = b.baseNameOf pin.program; } else { });
      }
      // (if parsed.version != "" then { inherit (parsed) version; } else { });
    in
    self;

  app =
    name: pin: pkg:
    let
      base = if needsDrv then wrap pkg.name pkg.outPath else pkg.outPath;
      # Nothing looks inside the pin: pure evaluation may not read a path that
      # appendContext made, and what Nix may read must not depend on settings.
      program =
        if pin ? program then
          "${base}/${pin.program}"
        else
          throw "create-pin-refs: pin '${name}' has no program: its name cannot be a file name and it has no single 'bin/*' artifact";
    in
    {
      type = "app";
      inherit program;
      meta.description = pkg.meta.description;
    };

in
{
  inherit package app;
}
