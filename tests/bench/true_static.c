/* true_static.c - the smallest static program, for the spawn baseline. */
int main(void)
{
	return 0;
}
