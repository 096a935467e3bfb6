// Package npm installs a Node application's dependencies from its
// package-lock.json (lockfileVersion 2 or 3), as npm ci --ignore-scripts
// --omit=dev would, into an appdeps.Set for the image's application
// layer, with neither npm nor node run.
//
// Each package the lockfile's "packages" section lists is placed at its
// path (node_modules/a, node_modules/a/node_modules/@s/b) under the app
// directory. Its tarball comes from its resolved URL (https or http;
// https://registry.npmjs.org/ replaced by Options.Registry when set) and
// is verified by its integrity (the strongest of sha512, sha384, sha256
// and sha1 it names, as ssri picks) before anything reads it; verified
// tarballs are kept in the download cache (packages/fetch), under their
// integrity, and verified again on each use. A tarball enters the cache
// only once it has also unpacked without error.
//
// What is placed follows npm (arborist, pacote, bin-links):
//   - dev packages are left out; devOptional ones stay (npm omits them
//     only when optional ones are omitted too);
//   - an optional package whose os, cpu or libc does not fit the image's
//     Platform is skipped with the packages only it needs (arborist's
//     optionalSet); a required one that does not fit is an error
//     (engines, which npm also checks, are not: the image's node version
//     is the caller's to match);
//   - a tarball's first path component is stripped and only its regular
//     files are extracted (links, devices and FIFOs are not; directories
//     are made for the files), a .gitignore becomes .npmignore unless one
//     came before, files are 0644, or 0755 with any execute bit;
//   - bins the lockfile lists are relative symlinks in the node_modules/.bin
//     that holds the package, shallow packages first, a name linked once,
//     a missing target skipped; their targets are made 0755 and lose a
//     CR ending the "#!" line;
//   - bundled dependencies come with their parent's tarball.
//
// npm's hidden lockfile (node_modules/.package-lock.json) is not written.
//
// Install scripts (preinstall, install, postinstall, the node-gyp rebuild
// a binding.gyp implies, or hasInstallScript in the lockfile) are never
// run: the packages that declare them are listed in one of Set.Warnings.
//
// Hostile input is refused with an error naming the package and the
// member, before anything is cached: a lockfile of another version, a
// file:, git, link: or workspace source, a package without an integrity,
// an integrity mismatch, a tarball member with an absolute path or a ".."
// component, a symlink or hard link pointing out of its package, a member
// larger than the file limit (by its declared size, before it is read),
// more than the total limit in all, a package path that is not a clean
// node_modules path.
//
// Components carry the package.json's name, version and license (an SPDX
// expression when it is one, the old {"type"} and "licenses" forms read
// too), the integrity as Hash, the URL as Source and the purl
// pkg:npm/%40scope/name@version.
package npm
