# Sourced (not run) by the scripts that take their jars from Maven Central through Maven
# (kafka.sh, fhir-validator.sh). The caller defines log() and die().

MAVEN_DEPENDENCY_PLUGIN_VERSION=3.6.1

# maven_pom ARTIFACT VERSION COMMENT DEPENDENCIES: a pom whose only use is pulling DEPENDENCIES
# (the <dependency> elements, as XML), on stdout.
maven_pom() {
    cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- $3 -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 http://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.hub</groupId>
  <artifactId>$1</artifactId>
  <version>$2</version>
  <packaging>pom</packaging>
  <dependencies>$4
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>${MAVEN_DEPENDENCY_PLUGIN_VERSION}</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
EOF
}

# maven_copy_dependencies POM_DIR LIBS MARKER LOG CHECK WHAT: the runtime dependencies of
# POM_DIR/pom.xml copied into a scratch folder, checked with the function CHECK (given the folder),
# then swapped in as LIBS and MARKER written: an interrupted fetch never leaves a LIBS that looks
# complete. Maven's output (noisy, colour codes even with -B) goes to LOG.
maven_copy_dependencies() {
    local pom_dir="$1" libs="$2" marker="$3" log_file="$4" check="$5" what="$6"
    local t0=$SECONDS tmp="$2.tmp"
    command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven)"
    rm -rf "$tmp"
    mkdir -p "$(dirname "$log_file")"
    log "fetching $what and its dependencies with Maven"
    if ! mvn -q -B -Dstyle.color=never -f "$pom_dir/pom.xml" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" -DincludeScope=runtime >"$log_file" 2>&1; then
        tail -n 30 "$log_file" >&2
        die "maven fetch failed (full output in $log_file)"
    fi
    "$check" "$tmp"
    rm -rf "$libs"
    mv "$tmp" "$libs"
    date -u +%Y-%m-%dT%H:%M:%SZ >"$marker"
    log "fetched $(find "$libs" -name '*.jar' | wc -l) jars in $((SECONDS - t0)) s"
}
