/* The main executable whose code signature the Darwin model and the
 * signature tests read: built for arm64 macOS by Zig, which signs it ad hoc
 * with the entitlements of one plist (zig build-exe --entitlements). */
int main(void)
{
    return 0;
}
