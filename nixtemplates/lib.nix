# Pins of one system, loaded lazily: the index of names is read in full,
# because Nix needs every attribute name, and each shard of pin data only when one of
# its pins is forced. Nothing here depends on the data being trustworthy: names,
# paths and programs are read from JSON and never evaluated as code.
{
  system,
  # Overrides how a store path becomes a value, as in `--arg storePath 'p: p'`
  # to see the paths without fetching them.
  storePath ? null,
}:
let
  b = builtins;
  meta = b.fromJSON (b.readFile ./data/meta.json);
  known = b.elem system meta.systems;
  json = f: b.fromJSON (b.readFile f);
  # Every name but those the system lacks; removeAttrs is one pass in C++.
  index =
    if known then
      b.removeAttrs (json ./data/index/all.json) (json (./data/index/absent + "/${system}.json"))
    else
      json ./data/index/any.json;
  shards = b.genList (n: b.fromJSON (b.readFile (./data/shards + "/${toString n}.json"))) meta.shards;

  # Each output is one lazy mapAttrs over the index: selecting a name forces only
  # its own shard and store path.
  entryOf =
    name: shard:
    let
      e = (b.elemAt shards shard).${name};
    in
    e.${system} or e."*";

  v = import ./pin.nix { inherit system storePath meta; };
  packages = b.mapAttrs (name: shard: v.package name (entryOf name shard)) index;
in
{
  # What each name points at, as published: { path; program?; revision? }.
  pins = b.mapAttrs entryOf index;
  inherit packages;
  apps = b.mapAttrs (name: shard: v.app name (entryOf name shard) packages.${name}) index;
}
