#!/usr/bin/env bash
# Builds an Apache James 3.8.1 memory server from Maven Central the way James documents it, then installs
# mx-governor into it exactly as README.md "Install" tells operators to:
#
#   integration-tests/dropin/install-james.sh <directory> <path to mx-governor-<version>.jar>
#
# leaves <directory>/james-server-memory-app ready to start from that folder (James's README.adoc):
#
#   java -Dworking.directory=. -Dlogback.configurationFile=conf/logback.xml -Djdk.tls.ephemeralDHKeySize=2048 \
#        -jar james-server-memory-app.jar
#
# Environment: MVN (default mvn) and MVN_ARGS (e.g. "-o -Dmaven.repo.local=...") choose how Maven runs;
# JAVA_HOME, when set, chooses keytool. Nothing else is needed: every file comes from Maven Central or the JDK.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 <directory> <mx-governor jar>" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/../.." && pwd)
mkdir -p "$1"
directory=$(cd "$1" && pwd)
jar=$2
james="$directory/james-server-memory-app"
if [ ! -f "$jar" ]; then
    echo "no plugin jar at $jar: build it first (mvn -B -ntp verify)" >&2
    exit 2
fi

rm -rf "$james"

# The distribution: org.apache.james:james-server-memory-app:3.8.1:zip (the jar, conf/, extensions-jars/) and
# the james-server-memory-app.lib folder the jar's manifest names, which the zip lacks, filled the way James's own
# build fills it (copy-dependencies of the memory app's compile and runtime dependencies).
# shellcheck disable=SC2086
"${MVN:-mvn}" -B -ntp -q ${MVN_ARGS:-} -f "$here/pom.xml" package -Ddropin.dir="$directory"

# The keystore conf/smtpserver.xml and conf/imapserver.xml point to (file://conf/keystore), generated with the
# JDK's keytool as James's README.adoc says, in the type and with the secret those files name.
secret=$(sed -n 's:.*<secret>\(.*\)</secret>.*:\1:p' "$james/conf/smtpserver.xml" | head -n 1)
store_type=$(sed -n 's:.*<keystoreType>\(.*\)</keystoreType>.*:\1:p' "$james/conf/smtpserver.xml" | head -n 1)
"${JAVA_HOME:+$JAVA_HOME/bin/}keytool" -genkeypair -noprompt -alias james -keyalg RSA -keysize 2048 \
    -storetype "${store_type:-PKCS12}" -keystore "$james/conf/keystore" -storepass "$secret" -keypass "$secret" \
    -dname "CN=localhost" -validity 30 2>/dev/null

# README "Install": 1. the JAR into extensions-jars/; 2. the governed mailet in conf/mailetcontainer.xml (the
# complete sample); 3. the rules file as conf/mx-rules.xml.
cp "$jar" "$james/extensions-jars/"
cp "$project/conf-samples/mailetcontainer.xml" "$james/conf/mailetcontainer.xml"
cp "$project/conf-samples/mx-rules.xml" "$james/conf/mx-rules.xml"

echo "$james"
