# The build the packages ship (packaging/deb.sh): release, Swift runtime linked statically, in
# the same scratch folder, so benchmarks measure what a station runs and the package build and
# the benchmarks do not relink each other's binaries.
#   release_build PRODUCT...: builds them and sets $bin to their folder.
release_build() {
  local product
  for product in "$@"; do
    swift build -c release --static-swift-stdlib --scratch-path .build-release --product "$product" >&2
  done
  bin=$(swift build -c release --static-swift-stdlib --scratch-path .build-release --show-bin-path)
}
