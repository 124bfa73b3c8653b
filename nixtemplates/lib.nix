# Pins of one system, loaded lazily: the system's index (names only) is read in full,
# because Nix needs every attribute name, and each shard of pin data only when one of
# its pins is forced. Nothing here depends on the data being trustworthy: names,
# paths and programs are read from JSON and never evaluated as code.
{
  system,
  # "storePath" or "auto"; flakes pass "auto" to use fetchClosure in pure mode.
  fetch ? "storePath",
  # Overrides how a store path becomes a value, as in `--arg storePath 'p: p'`
  # to see the paths without fetching them.
  storePath ? null,
}:
let
  b = builtins;
  meta = b.fromJSON (b.readFile ./data/meta.json);
  known = b.elem system meta.systems;
  index = b.fromJSON (b.readFile (if known then ./data/index + "/${system}.json" else ./data/index/any.json));
  shards = b.genList (n: b.fromJSON (b.readFile (./data/shards + "/${toString n}.json"))) meta.shards;

  atLeast = v: b.compareVersions b.nixVersion v >= 0;
  pure = !(b ? currentSystem);
  # fetchClosure learnt inputAddressed in Nix 2.17; Lix removed the primop.
  canFetchClosure = b ? fetchClosure && atLeast "2.17";
  # Nix takes a bare store path as an installable from 2.16 on; older Nix needs a
  # derivation, so the path is wrapped in a local symlink tree (built in milliseconds).
  needsDrv = !(atLeast "2.16");

  # A pin's entry says how its path can be had: "closure" = "split" when the
  # closure is complete only with upstream caches (fetchClosure reads one cache),
  # "ca" when the path is content-addressed (fetchClosure must not ask for an
  # input-addressed one).
  realise =
    name: pin:
    if storePath != null then
      storePath pin.path
    else if fetch == "auto" && pure then
      if !canFetchClosure then
        throw "create-pin-refs: pin '${name}' needs 'builtins.fetchClosure' (Nix >= 2.17 with 'experimental-features = fetch-closure') in pure evaluation; run with '--impure' instead (Nix ${b.nixVersion})"
      else if (pin.closure or "complete") == "split" then
        throw "create-pin-refs: pin '${name}' has a closure split between its cache and upstream caches, which 'builtins.fetchClosure' (one cache) cannot fetch in pure evaluation; run with '--impure' instead"
      else
        b.fetchClosure {
          fromStore = meta.substituter;
          fromPath = pin.path;
          inputAddressed = !(pin.ca or false);
        }
    else
      b.storePath pin.path;

  wrap =
    pin: path:
    derivation {
      # The JSON string has no context; a name must not refer to a store path.
      name = b.substring 44 (b.stringLength pin.path) pin.path;
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
    }
    // (if pin ? program then { meta.mainProgram = b.baseNameOf pin.program; } else { });

  # Each output is one lazy mapAttrs over the index: selecting a name forces only
  # its own shard and store path.
  entryOf =
    name: shard:
    let
      e = (b.elemAt shards shard).${name};
    in
    e.${system} or e."*";
  valueOf =
    name: pin:
    let
      path = realise name pin;
    in
    if needsDrv then wrap pin path else path;
in
{
  # What each name points at, as published: { path; program? }.
  pins = b.mapAttrs entryOf index;
  packages = b.mapAttrs (name: shard: valueOf name (entryOf name shard)) index;
  apps = b.mapAttrs (
    name: shard:
    let
      pin = entryOf name shard;
    in
    {
      type = "app";
      program =
        if pin ? program then
          "${valueOf name pin}/${pin.program}"
        else
          throw "create-pin-refs: pin '${name}' has no program: its name cannot be a file name and it has no single 'bin/*' artifact";
    }
  ) index;
}
